"""The verdict on a run of Cerulean 1.0's suite: pass only if every test passed.

Usage: ``python verdict.py REPORT.xml``, with the JUnit XML report pytest wrote.

Every failure or error, and any skipped test, fails the verdict; so does a
report with no tests. Nothing of the suite is deselected or marked: the run
itself is whole, and this only reads its report. (With the test Slurm's three
nodes, ``test_num_nodes`` passes too; on a one-node Slurm it cannot.)
"""
import sys

from defusedxml import ElementTree


def main(report: str) -> int:
    """Print the verdict on REPORT and return the exit status for it."""
    root = ElementTree.parse(report).getroot()
    passed: list[str] = []
    bad: list[str] = []
    for case in root.iter('testcase'):
        name = '{}::{}'.format(case.get('classname'), case.get('name'))
        outcome = [child.tag for child in case if child.tag in ('failure', 'error', 'skipped')]
        if outcome:
            bad.append('{} ({})'.format(name, ', '.join(outcome)))
        else:
            passed.append(name)
    total = len(passed) + len(bad)
    print(f'Cerulean 1.0 suite: {len(passed)} passed, {len(bad)} failed or skipped, of {total}')
    for name in bad:
        print(f'  FAILED: {name}')
    return 1 if bad or total == 0 else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
