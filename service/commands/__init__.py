"""Command groups of `finsms`, one module per area, registered in service.cli."""
