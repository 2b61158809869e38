"""Print the fault-injection figures at the end of the run, whatever the output capture."""
from tests.faults.cluster import FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("fault-injection figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
