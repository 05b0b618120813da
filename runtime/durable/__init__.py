"""The durable engine: events become executions, executions advance in slices on Huey, sends
leave through the outbox. It reaches the database only through the ports in `ports.py`."""
