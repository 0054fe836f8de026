"""Click command groups of the finsms CLI, one module per area, registered in cli.py."""
