"""What an operator does to a running news-monitor, shared by the CLI and the web console.

`config_file` edits the TOML file (tomlkit keeps comments and layout) and
validates the result like `check` before it replaces the file; `feed_control`
removes, pauses and resumes feeds and polls one now; `story_mutes` mutes stories;
`intervals` explains each feed's effective poll interval; `query_check` finds the
topic queries that do not parse; `reload` tells a running service to read its
config again.
"""
