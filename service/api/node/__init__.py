"""The Node API v1.8.3 as a protocol: its functions, parameter tolerance and views, shared
by the JSON (api/json) and SOAP (api/soap) adapters."""
