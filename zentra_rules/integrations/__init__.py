"""The outside world the engine talks to: notifications through Apprise, signed webhooks over HTTP."""
