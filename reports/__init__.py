"""PPA tables, comparison plots and the static report page."""
