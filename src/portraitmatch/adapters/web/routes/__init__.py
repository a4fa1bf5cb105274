"""HTTP routes, one module per resource. Routes stay thin: parse, call a flow, convert the result."""
