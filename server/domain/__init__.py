"""Pure, typed rules of the session: no aiohttp, no socketio, no I/O."""
