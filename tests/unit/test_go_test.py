"""go_test's pure parts: counting `go test`'s package lines, and the per-service table."""

from ansible_collections.vhvcorp.devtools.plugins.module_utils.go_test import (
    package_counts,
    report_table,
)

OUTPUT = """\
?   \tgithub.com/vhvcorp/demo-service/cmd\t[no test files]
ok  \tgithub.com/vhvcorp/demo-service/internal/config\t0.012s
--- FAIL: TestDeliberatelyBroken (0.00s)
    failing_test.go:5: a deliberate failure
FAIL
FAIL\tgithub.com/vhvcorp/demo-service/internal/server\t0.010s
FAIL\tgithub.com/vhvcorp/demo-service/internal/broken [build failed]
ok  \tgithub.com/vhvcorp/demo-service/internal/metrics\t(cached)
"""


def test_package_counts_reads_one_line_per_package():
    # The bare "FAIL" line after a test's output is no package.
    assert package_counts(OUTPUT) == {"passed": 2, "failed": 2, "no_tests": 1}
    assert package_counts("") == {"passed": 0, "failed": 0, "no_tests": 0}


def test_report_table_gives_one_row_per_service_with_a_dash_where_nothing_ran():
    table = report_table(
        [
            {
                "name": "user-service",
                "state": "passed",
                "seconds": 3.25,
                "packages": {"passed": 1, "failed": 0, "no_tests": 4},
            },
            {
                "name": "tenant-service",
                "state": "no clone",
                "seconds": None,
                "packages": {"passed": 0, "failed": 0, "no_tests": 0},
            },
        ]
    )
    assert table.splitlines() == [
        "SERVICE         STATE     SECONDS  PACKAGES",
        "user-service    passed        3.2  1 ok, 0 failed, 4 without tests",
        "tenant-service  no clone        -  -",
    ]
