"""http_load's pure parts: which URLs it accepts (this machine only) and the percentiles."""

import pytest
from ansible_collections.vhvcorp.devtools.plugins.module_utils.http_load import (
    LoadError,
    localhost_as_loopback,
    loopback_target,
    percentile,
)


def test_only_loopback_http_urls_are_accepted():
    assert loopback_target("http://127.0.0.1:8080/health") == ("127.0.0.1", 8080, "/health")
    assert loopback_target("http://[::1]:8080") == ("::1", 8080, "/")
    assert loopback_target("http://127.0.0.1:9/x?a=1") == ("127.0.0.1", 9, "/x?a=1")
    # The seed's API_BASE; never resolved, so /etc/hosts cannot send it elsewhere.
    assert loopback_target("http://localhost:8080/") == ("127.0.0.1", 8080, "/")
    others = ("http://localhost.example.com/", "http://10.0.0.1/", "https://127.0.0.1/", "x.com")
    for url in others:
        with pytest.raises(LoadError):
            loopback_target(url)


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.90) == 90.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_localhost_is_written_127_0_0_1_and_nothing_else_of_the_url_changes():
    assert localhost_as_loopback("http://user@LocalHost:8080/a?b=1").geturl() == (
        "http://user@127.0.0.1:8080/a?b=1"
    )
    other = "http://localhost.example.com/"
    assert localhost_as_loopback(other).geturl() == other
