"""Carriers: links to operators (and the simulator), their data types and their routing.

`types` holds what crosses a link (imported by the settlement service, so it depends on
the domain only); `base` the Carrier protocol; `registry` builds links by name from
settings; `router` picks a link per operator.
"""
