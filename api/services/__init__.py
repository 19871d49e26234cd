"""Thin orchestration between the routes/commands, the database and geo/planner/maps."""
