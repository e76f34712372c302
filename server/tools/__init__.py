"""In-session tools as plugins: the API they implement and the runner that isolates them."""
