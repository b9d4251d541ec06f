"""TwitterAPI: posting, retweeting, commenting and following (BFCL's ``posting_api.json``).

Behaves as BFCL's class does (observed), with one deliberate difference: BFCL's ``post_tweet`` shares one
default ``tags``/``mentions`` list between every call that leaves them out (a later ``mention`` on such a post
changes that shared list for every later post in the process); here each post gets its own empty lists.
State compared: ``username``, ``password``, ``authenticated``, ``tweets`` (by integer id), ``comments``,
``retweets``, ``following_list``, ``tweet_counter``.
"""

from __future__ import annotations

import copy
from typing import Any

from ._base import LimitError, SimulatedAPI

__all__ = ["TwitterAPI"]

MAX_TWEETS = 10_000
MAX_LIST = 10_000

_DEFAULTS = {
    "username": "john",
    "password": "john123",
    "authenticated": False,
    "tweets": {},
    "comments": {},
    "retweets": {},
    "following_list": ["alice", "bob"],
    "tweet_counter": 0,
}


#: The default of ``tags``/``mentions``: a new empty list for each post.
_FRESH: list = []


def _unauthenticated(action: str) -> dict:
    return {"error": f"User not authenticated. Please authenticate before {action}."}


class TwitterAPI(SimulatedAPI):
    """See the module docs."""

    # state, set from the scenario by _load_scenario
    username: str
    password: str
    authenticated: bool
    tweets: dict[int, dict[str, Any]]
    comments: dict[int, list[dict[str, str]]]
    retweets: dict[str, list[int]]
    following_list: list[str]
    tweet_counter: int

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        d = copy.deepcopy(_DEFAULTS)
        for key in (
            "username",
            "password",
            "authenticated",
            "tweets",
            "comments",
            "retweets",
            "following_list",
            "tweet_counter",
        ):
            setattr(self, key, scenario.get(key, d[key]))
        self.tweets = {int(k): v for k, v in self.tweets.items()}

    def _missing(self, tweet_id) -> dict | None:
        return None if tweet_id in self.tweets else {"error": f"Tweet with ID {tweet_id} not found."}

    def authenticate_twitter(self, username: str, password: str):
        if username == self.username and password == self.password:
            self.authenticated = True
            return {"authentication_status": True}
        return {"authentication_status": False}

    def posting_get_login_status(self):
        return {"login_status": bool(self.authenticated)}

    def post_tweet(self, content: str, tags: list = _FRESH, mentions: list = _FRESH):
        if not self.authenticated:
            return _unauthenticated("posting")
        if len(self.tweets) >= MAX_TWEETS:
            raise LimitError(f"too many posts ({MAX_TWEETS})")
        post = {
            "id": self.tweet_counter,
            "username": self.username,
            "content": content,
            "tags": [] if tags is _FRESH else tags,
            "mentions": [] if mentions is _FRESH else mentions,
        }
        self.tweets[self.tweet_counter] = post
        self.tweet_counter += 1
        return post

    def retweet(self, tweet_id: int):
        if not self.authenticated:
            return _unauthenticated("retweeting")
        if (err := self._missing(tweet_id)) is not None:
            return err
        mine = self.retweets.setdefault(self.username, [])
        if tweet_id in mine:
            return {"retweet_status": "Already retweeted"}
        mine.append(tweet_id)
        return {"retweet_status": "Successfully retweeted"}

    def comment(self, tweet_id: int, comment_content: str):
        if not self.authenticated:
            return _unauthenticated("commenting")
        if (err := self._missing(tweet_id)) is not None:
            return err
        thread = self.comments.setdefault(tweet_id, [])
        if len(thread) >= MAX_LIST:
            raise LimitError(f"too many comments ({MAX_LIST})")
        thread.append({"username": self.username, "content": comment_content})
        return {"comment_status": "Comment added successfully"}

    def mention(self, tweet_id: int, mentioned_usernames: list):
        if (err := self._missing(tweet_id)) is not None:
            return err
        names = self.tweets[tweet_id]["mentions"]
        if isinstance(names, list) and len(names) >= MAX_LIST:
            raise LimitError(f"too many mentions ({MAX_LIST})")
        names.extend(mentioned_usernames)
        return {"mention_status": "Users mentioned successfully"}

    def follow_user(self, username_to_follow: str):
        if not self.authenticated:
            return _unauthenticated("following")
        if username_to_follow in self.following_list:
            return {"follow_status": False}
        if len(self.following_list) >= MAX_LIST:
            raise LimitError(f"following too many users ({MAX_LIST})")
        self.following_list.append(username_to_follow)
        return {"follow_status": True}

    def list_all_following(self):
        if not self.authenticated:
            return _unauthenticated("listing following")
        return {"following_list": self.following_list}

    def unfollow_user(self, username_to_unfollow: str):
        if not self.authenticated:
            return _unauthenticated("unfollowing")
        if username_to_unfollow not in self.following_list:
            return {"unfollow_status": False}
        self.following_list.remove(username_to_unfollow)
        return {"unfollow_status": True}

    def get_tweet(self, tweet_id: int):
        return self._missing(tweet_id) or self.tweets[tweet_id]

    def get_user_tweets(self, username: str):
        return [t for t in self.tweets.values() if t["username"] == username]

    def search_tweets(self, keyword: str):
        # the keyword is lowered per post, as BFCL does (so no posts means no error for a non-string)
        return [
            t
            for t in self.tweets.values()
            if keyword.lower() in t["content"].lower() or keyword.lower() in [g.lower() for g in t["tags"]]
        ]

    def get_tweet_comments(self, tweet_id: int):
        return self._missing(tweet_id) or self.comments.get(tweet_id, [])

    def get_user_stats(self, username: str):
        return {
            "tweet_count": sum(1 for t in self.tweets.values() if t["username"] == username),
            "following_count": len(self.following_list) if username == self.username else 0,
            "retweet_count": len(self.retweets.get(username, [])),
        }
