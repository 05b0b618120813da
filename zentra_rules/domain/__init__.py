"""The shared domain, below every stage: the language's data (schema, plan, values, expression
trees), the meaning of each statement, errors, limits, the clock and the configuration. Pure:
no database, no network, no queue."""
