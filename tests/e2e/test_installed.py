"""The installed package, as a user gets it: `dpkg -i` of the .deb that `make dist` built, its
desktop entry validated, the *installed* `skillmeat-tray` started under Xvfb and D-Bus (the
tray registers, the dashboard opens, Quit exits 0), cold start and idle RSS measured, then the
package removed and the user's cache, config and log checked untouched.

Run by scripts/install-test.sh (as root, inside scripts/e2e.sh's Xvfb and bus) with
SKILLMEAT_DEB pointing at the package; skipped otherwise (the plain e2e run does not install)."""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from corpus import corpus
from desktop import click_quit, rss_mb, wait_for, window_shown
from sni import TrayWatcher

DEB = os.environ.get("SKILLMEAT_DEB")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(REPO, "test-artifacts")
INSTALLED = "/usr/bin/skillmeat-tray"
ENTRY = "/usr/share/applications/skillmeat-tray.desktop"

pytestmark = pytest.mark.skipif(
    not DEB or os.geteuid() != 0, reason="the install test runs as root with SKILLMEAT_DEB set"
)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="module")
def installed():
    os.makedirs(ARTIFACTS, exist_ok=True)
    measured = os.path.join(ARTIFACTS, "install-measurements.json")
    if os.path.exists(measured):
        os.remove(measured)
    subprocess.run(["dpkg", "-r", "skillmeat-tray"], capture_output=True)
    r = subprocess.run(["dpkg", "-i", DEB], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    yield
    # Removed by the last test; removed here too if that one did not get to run.
    subprocess.run(["dpkg", "-r", "skillmeat-tray"], capture_output=True)


@pytest.fixture(scope="module")
def user(installed):
    tmp = tempfile.mkdtemp(prefix="skillmeat-installed-")
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    root = os.path.join(tmp, "projects")
    corpus(root, 100)
    env = dict(os.environ, HOME=home, SKILLMEAT_CACHE_ROOTS=root, SKILLMEAT_CACHE_INCLUDE_USER_SCOPE="false")
    for k in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "SKILLMEAT_LOG"):
        env.pop(k, None)
    watcher = TrayWatcher()
    yield dict(home=home, root=root, env=env, watcher=watcher)
    watcher.close()
    shutil.rmtree(tmp, ignore_errors=True)


def test_the_package_installs_the_app_its_entry_and_icons(installed):
    assert os.access(INSTALLED, os.X_OK)
    r = subprocess.run(["desktop-file-validate", ENTRY], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr
    with open(ENTRY) as f:
        entry = f.read()
    assert "Exec=skillmeat-tray" in entry, entry
    assert "Icon=skillmeat-tray" in entry, entry
    assert "Categories=Development;" in entry, entry
    sizes = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
                   for p in glob.glob("/usr/share/icons/hicolor/*/apps/skillmeat-tray.png"))
    for size in ("16x16", "32x32", "48x48", "128x128", "512x512"):
        assert size in sizes, sizes
    # A production build: the dashboard is embedded, no dev server is looked for.
    with open(INSTALLED, "rb") as f:
        assert b"localhost:1420" not in f.read()


def test_the_installed_app_starts_to_the_tray_quickly_and_idles_small(user):
    # Cold: the file system cache dropped first, as after a reboot.
    subprocess.run(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
    starts, rss = [], []
    for run in range(2):
        env = dict(user["env"])
        if run == 1:
            # Under Xvfb, GDK's GL probe at start maps Mesa's software renderer (llvmpipe,
            # about 50 MB of libLLVM) into every GTK process, which a desktop's GPU driver
            # does not: the memory target is checked without it (GL off for GDK only).
            env["GDK_GL"] = "disable"
        before = len(user["watcher"].items)
        log = open(os.path.join(ARTIFACTS, f"installed-start-{run}.log"), "w")
        t0 = time.monotonic()
        proc = subprocess.Popen(["skillmeat-tray"], env=env, stdout=log, stderr=log)
        try:
            wait_for(lambda: len(user["watcher"].items) > before, 20, "the installed app's tray to register")
            starts.append(time.monotonic() - t0)
            # The first start populates the empty cache (100 projects x 100 artifacts).
            labels = lambda: [label for _, label, _ in user["watcher"].menu()]  # noqa: E731
            wait_for(lambda: labels()[0].startswith("100 projects · updated"), 60, "the start-up refresh")
            time.sleep(3)  # the idle app, dashboard never opened: settle, then sample memory
            rss.append(rss_mb(proc.pid))
            click_quit(user["watcher"])
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    record(
        {
            "installed_cold_start_to_tray_ms": round(starts[0] * 1000),
            "installed_warm_start_to_tray_ms": round(starts[1] * 1000),
            "installed_idle_rss_mb": round(rss[0], 1),
            "installed_idle_rss_without_gdk_gl_mb": round(rss[1], 1),
        }
    )
    print(
        f"\ninstalled app, start to tray registered: cold {starts[0] * 1000:.0f} ms, warm {starts[1] * 1000:.0f} ms;"
        f" idle RSS {rss[0]:.0f} MB ({rss[1]:.0f} MB without GDK's GL probe)"
    )
    assert starts[0] <= 1.0, f"cold start {starts[0]:.2f} s, target 1 s"
    assert rss[1] <= 80, f"{rss[1]:.0f} MB RSS idle, target 80"


def record(results):
    path = os.path.join(ARTIFACTS, "install-measurements.json")
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data.update(results)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)


def test_the_installed_app_runs_opens_its_dashboard_and_quits(user):
    before = len(user["watcher"].items)
    log_path = os.path.join(ARTIFACTS, "installed-app.log")
    log = open(log_path, "w")
    proc = subprocess.Popen(["skillmeat-tray"], env=user["env"], stdout=log, stderr=log)
    try:
        wait_for(lambda: len(user["watcher"].items) > before, 20, "the tray to register")
        labels = lambda: [label for _, label, _ in user["watcher"].menu()]  # noqa: E731
        wait_for(lambda: labels()[0].startswith("100 projects"), 30, "the status line")
        user["watcher"].click("Open dashboard")
        wait_for(window_shown, 20, "the dashboard window")
        subprocess.run(["import", "-window", "root", os.path.join(ARTIFACTS, "installed-dashboard.png")], check=False)
        click_quit(user["watcher"])
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    with open(log_path, encoding="utf-8", errors="replace") as f:
        assert "\x1b[" not in f.read(), "colour codes in output that is not a terminal"


def test_removing_the_package_leaves_the_users_data(user):
    home = user["home"]
    kept = [os.path.join(dirpath, f) for dirpath, _, files in os.walk(home) for f in files]
    cache = os.path.join(home, ".local/share/skillmeat-tray/cache.db")
    state = os.path.join(home, ".config/dev.skillmeat.tray/.window-state.json")
    logs = glob.glob(os.path.join(home, ".local/state/skillmeat-tray/logs/skillmeat-tray.*.log"))
    for made in (cache, state, *logs):
        assert made in kept, f"the app made {made}"
    assert logs, "the app wrote its log"
    before = {p: digest(p) for p in kept}
    r = subprocess.run(["dpkg", "-r", "skillmeat-tray"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(INSTALLED)
    assert not os.path.exists(ENTRY)
    assert {p: digest(p) for p in kept if os.path.exists(p)} == before
