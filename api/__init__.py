"""patrolgrid api: CLI, HTTP service, persistence and settings. Orchestrates geo, planner and maps."""
