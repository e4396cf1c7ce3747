"""Reports a person signs or files: the trip temperature report and the fleet report."""
