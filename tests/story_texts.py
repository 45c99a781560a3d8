"""Story texts several test modules share: articles of a few events, and one to build.

The mine rescue and the families' vigil share no term; BRIDGE tells both, so that the
two stories it joins merge (tests/test_stories.py, tests/test_story_store.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.stories import StoryArticle

T0 = datetime(2018, 4, 17, 8, 0, tzinfo=UTC)


WIRE = (
    "Washington (AP) — President Donald Trump and North Korean leader Kim Jong Un will meet "
    "in Singapore on June 12, officials said on Thursday. The summit would be the first "
    "meeting between a sitting US president and a North Korean leader. Secretary of State "
    "Mike Pompeo travelled to Pyongyang this week to prepare the talks and brought home "
    "three detained Americans. Officials said the agenda would centre on the "
    "denuclearisation of the Korean peninsula and on sanctions relief."
)
RUSSIA_LAWSUIT = (
    "The Democratic National Committee filed a lawsuit on Friday against Russia, the Trump "
    "campaign and WikiLeaks, alleging a conspiracy to disrupt the 2016 presidential election. "
    "The suit, filed in federal court in Manhattan, seeks millions of dollars in damages "
    "for the hacking of party computers and the theft of emails. Trump campaign officials "
    "called the lawsuit frivolous and a fundraising stunt by a desperate party."
)
RUSSIA_QUESTIONS = (
    "Special counsel Robert Mueller has given Trump's lawyers a list of four dozen questions "
    "he wants to ask the president about Russia and possible obstruction of justice. The "
    "questions cover the firing of FBI director James Comey, Trump's meetings with Russian "
    "officials and his tweets about attorney general Jeff Sessions. Trump's lawyers are "
    "weighing whether to let the president sit for an interview with investigators."
)


def article(
    key: str, text: str, *, title: str = "", source: str = "AP", hours: float = 0
) -> StoryArticle:
    return StoryArticle(
        key=key,
        url=f"https://{source.lower().replace(' ', '')}.example/{key}",
        source=source,
        title=title or text.split(".")[0][:80],
        text=text,
        published=T0 + timedelta(hours=hours),
    )


MINE = (
    "Rescuers searched the flooded coal mine near Tula for eleven trapped miners overnight. "
    "Pumps drained water from the lower shaft as engineers drilled a second borehole."
)
FAMILIES = (
    "Families gathered outside the colliery gates waiting for news. Local churches opened "
    "shelters and volunteers served soup to relatives through the cold night. The regional "
    "governor promised compensation to every family and ordered an inquiry."
)
BRIDGE = (
    "Rescuers pumped water from the flooded coal mine near Tula while families waited at the "
    "colliery gates for news of the eleven trapped miners. Engineers drilled a borehole into "
    "the lower shaft. Churches opened shelters and volunteers served soup to relatives. "
    "The governor promised compensation and ordered an inquiry."
)


OTHER_NEWS = (WIRE, RUSSIA_LAWSUIT, RUSSIA_QUESTIONS)
