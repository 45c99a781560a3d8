"""The command's exit codes, documented in the README's "Exit codes" section."""

OK = 0  # all well
SOME_FAILED = 1  # some feeds or channels failed, or the command could not do its job
CONFIG_ERROR = 2  # the configuration (or the command line) is wrong
NOTHING_DONE = 3  # nothing could be polled or delivered
