"""Helpers both end-to-end suites use: waiting for a condition, a process's memory, whether
the dashboard window is on screen, and clicking the tray's Quit."""

import subprocess
import time


def wait_for(cond, timeout=10.0, what="condition"):
    """Polls `cond` until it returns something true (returned), or fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def rss_mb(pid):
    """Resident memory of `pid` in MB (0 when it is gone)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def window_shown():
    """Whether the dashboard is on screen, by its title (notifications drawn by dunst may say
    "SkillMeat" too)."""
    return (
        subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", "SkillMeat — project cache"], capture_output=True
        ).returncode
        == 0
    )


def click_quit(watcher):
    """Clicks Quit; the app may end before its menu answers the click, which is no error."""
    try:
        watcher.click("Quit")
    except RuntimeError as e:
        if "NoReply" not in str(e):
            raise
