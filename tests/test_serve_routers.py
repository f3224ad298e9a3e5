"""Reading routers and the controller's long polls from Ray's metrics text, and waiting for a steady gauge.

The text is trimmed from a real scrape of Ray 2.60 (three handle holders: two shards and the proxy).
``tests/test_job_serve.py`` reads the same series from a running job.
"""

from __future__ import annotations

import itertools

import pytest

from cluster.bench.serve_routers import Router, routers
from tests.serve_controller import replica_listeners
from tests.waiting import poll_until_steady

TARGETS = "(LongPollNamespace.DEPLOYMENT_TARGETS, Deployment(name='{name}', app='{app}'))"
SCRAPE = f"""\
# HELP ray_serve_deployment_queued_queries The current number of queries to this deployment waiting to be assigned to a replica.
# TYPE ray_serve_deployment_queued_queries gauge
ray_serve_deployment_queued_queries{{Component="core_worker",actor_id="a1",application="safecity-detectors",deployment="detectors",handle="h1"}} 0.0
ray_serve_deployment_queued_queries{{Component="core_worker",actor_id="a2",application="safecity-detectors",deployment="detectors",handle="h2"}} 3.0
ray_serve_deployment_queued_queries{{Component="core_worker",actor_id="p",application="safecity-api",deployment="api",handle="h3"}} 0.0
# HELP ray_serve_long_poll_pending_clients The number of clients waiting for updates per namespace.
# TYPE ray_serve_long_poll_pending_clients gauge
ray_serve_long_poll_pending_clients{{Component="core_worker",namespace="LongPollNamespace.ROUTE_TABLE"}} 1.0
ray_serve_long_poll_pending_clients{{Component="core_worker",namespace="{TARGETS.format(name="detectors", app="safecity-detectors")}"}} 2.0
ray_serve_long_poll_pending_clients{{Component="core_worker",namespace="{TARGETS.format(name="api", app="safecity-api")}"}} 1.0
"""  # noqa: E501


def test_every_router_is_read_with_its_deployment_handle_and_actor() -> None:
    assert routers(SCRAPE) == {
        Router("safecity-detectors", "detectors", "h1", "a1"),
        Router("safecity-detectors", "detectors", "h2", "a2"),
        Router("safecity-api", "api", "h3", "p"),
    }


def test_the_controllers_long_polls_are_read_for_one_deployment() -> None:
    assert replica_listeners(SCRAPE, "safecity-detectors", "detectors") == 2
    assert replica_listeners(SCRAPE, "safecity-api", "api") == 1
    assert replica_listeners(SCRAPE, "other-app", "detectors") is None


def test_a_steady_value_is_one_that_held() -> None:
    reads = itertools.chain([3, 5, 3], itertools.repeat(3))
    assert poll_until_steady(lambda: next(reads), lambda v: v == 3, 0.05, 5, "3", interval=0.01) == 3
    never = itertools.cycle([3, 4])  # it is 3 at times, but never for long
    with pytest.raises(TimeoutError, match="last read"):
        poll_until_steady(lambda: next(never), lambda v: v == 3, 0.05, 0.3, "3", interval=0.01)
