"""Orchestration of one feed's poll: the stages called in the order of the data flow.

`poll.py` is the whole poll of one feed, top to bottom, and the feed's bookkeeping
(validators, failures, next check); `backlog.py` says which new entries are news;
`candidates.py` matches topics, fetching and cleaning pages through
`article_pages.py`; `placement.py` places the candidates in stories and records them,
with `story_sync.py` keeping the story book in step with the store's.
"""

from monitor.pipeline.candidates import WatchedTopic
from monitor.pipeline.poll import Pipeline, PollReport

__all__ = ["Pipeline", "PollReport", "WatchedTopic"]
