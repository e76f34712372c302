"""Server-side WebRTC peers built on aiortc: the scriptable Python participant."""
