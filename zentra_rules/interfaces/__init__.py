"""What people use: the `zentra` CLI, the HTTP API and the web playground; nothing below imports it."""
