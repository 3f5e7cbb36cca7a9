#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""docs/CI.md's GitHub Actions and GitLab CI recipes, run as written on a
small meson project whose test program `parse` leaks once (and `tidy`
leaks nothing).

Each recipe is read from the YAML block under its heading. What a CI
machine has and this one must not do is stood in for: `apt-get` records
its arguments (update must come before install, and the packages must
build leakscope), `curl` serves the GitLab artifacts of earlier jobs from
a folder, and the three lines that install leakscope are checked as text
and replaced by the leakscope under test, first on PATH. Every other line
runs unchanged, in the order and shell its CI runs it.

Usage: check_recipes.py --leakscope EXE --doc docs/CI.md
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import yaml

import lkstest
from lkstest import CheckError, expect

GATE_FAILED = 23
# what leakscope's build needs (tools/setup.sh's build part)
BUILD_PACKAGES = {"gcc", "g++", "pkg-config", "meson", "ninja-build", "libdw-dev",
                  "libunwind-dev"}
# the current major versions of the actions the GitHub recipe uses
ACTIONS = {"actions/checkout": "v4", "actions/upload-artifact": "v4",
           "github/codeql-action/upload-sarif": "v4"}

PROJECT = """project('demo', 'c')
test('parse', executable('parse', 'parse.c'))
test('tidy', executable('tidy', 'tidy.c'))
"""
TIDY = "int main(void)\n{\n\treturn 0;\n}\n"
PARSE = """#include <stdlib.h>

static void escape(void *ptr)
{
	__asm__ volatile("" : : "r"(ptr) : "memory");
}

__attribute__((noinline)) static void parse_line(void)
{
	escape(malloc(100));
}
%s
int main(void)
{
	parse_line();%s
	return 0;
}
"""
SECOND_LEAK = """
__attribute__((noinline)) static void parse_value(void)
{
	escape(malloc(7));
}
"""

APT_GET = """#!/bin/sh
echo "$*" >> "$RECIPE_LOG/apt-get"
"""
# GET $CI_API_V4_URL/projects/ID/jobs/artifacts/REF/raw/PATH?job=JOB, from
# $RECIPE_ARTIFACTS/REF/JOB/PATH; a missing one is curl --fail's 22
CURL = """#!/usr/bin/env python3
import os, re, shutil, sys
args, url, output = sys.argv[1:], None, None
for i, arg in enumerate(args):
    if arg == "--output":
        output = args[i + 1]
    if arg.startswith("http"):
        url = arg
with open(os.path.join(os.environ["RECIPE_LOG"], "curl"), "a") as log:
    log.write(" ".join(args) + "\\n")
found = re.fullmatch(r"https://gitlab\\.test/api/v4/projects/42/jobs/artifacts/"
                     r"([^/]+)/raw/(.+)\\?job=(.+)", url or "")
if not found or "--fail" not in args or "JOB-TOKEN: token" not in args:
    sys.exit(2)
ref, path, job = found.groups()
stored = os.path.join(os.environ["RECIPE_ARTIFACTS"], ref, job, path)
if not os.path.exists(stored):
    sys.exit(22)
shutil.copyfile(stored, output)
"""


def recipe(doc, heading):
    """The YAML block under `## heading`."""
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    found = re.search(rf"^## {re.escape(heading)}\n.*?^```yaml\n(.*?)^```", text,
                      re.S | re.M)
    expect(found, f"docs/CI.md: no YAML block under '## {heading}'")
    return yaml.safe_load(found.group(1))


def is_install(line):
    return "LEAKSCOPE_GIT" in line or "/opt/leakscope" in line


def check_install_lines(lines, where):
    """The lines that install leakscope: its source cloned, configured
    without the tests, installed (README.md's way)."""
    install = [line.strip() for line in lines if is_install(line)]
    want = [r'git clone --depth 1 "\$LEAKSCOPE_GIT" /opt/leakscope',
            r"meson setup -Dtests=false /opt/leakscope/build /opt/leakscope",
            r"meson install -C /opt/leakscope/build"]
    expect(len(install) == 3 and all(re.fullmatch(w, line) for w, line in zip(want, install)),
           f"{where}: leakscope's install lines: {install}")


def check_apt(log_dir, where):
    """apt-get update, then an install of everything leakscope's build needs."""
    with open(os.path.join(log_dir, "apt-get"), encoding="utf-8") as f:
        calls = [line.split() for line in f]
    expect(len(calls) == 2 and calls[0] == ["update"] and calls[1][:2] == ["install", "-y"]
           and BUILD_PACKAGES <= set(calls[1]), f"{where}: apt-get calls {calls}")


class Project:
    """The demo project in a scratch folder, and the recipe's environment."""

    def __init__(self, tmp, leakscope):
        self.dir = os.path.join(tmp, "project")
        self.log = os.path.join(tmp, "log")
        self.artifacts = os.path.join(tmp, "artifacts")
        bindir = os.path.join(tmp, "bin")
        for folder in (self.dir, self.log, self.artifacts, bindir):
            os.makedirs(folder)
        for name, text in (("apt-get", APT_GET), ("curl", CURL),
                           ("leakscope", f'#!/bin/sh\nexec {shlex.quote(leakscope)} "$@"\n')):
            with open(os.path.join(bindir, name), "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(os.path.join(bindir, name), 0o755)
        self.env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"],
                        RECIPE_LOG=self.log, RECIPE_ARTIFACTS=self.artifacts,
                        LEAKSCOPE_GIT="https://leakscope.test/leakscope.git")
        self.env.pop("LEAKSCOPE_OPTIONS", None)
        self.write(second_leak=False)

    def write(self, *, second_leak):
        for name, text in (("meson.build", PROJECT), ("tidy.c", TIDY),
                           ("parse.c", PARSE % (SECOND_LEAK if second_leak else "",
                                                "\n\tparse_value();" if second_leak else ""))):
            with open(os.path.join(self.dir, name), "w", encoding="utf-8") as f:
                f.write(text)
        shutil.rmtree(os.path.join(self.dir, "build"), ignore_errors=True)
        for name in os.listdir(self.dir):
            if name.startswith("leaks"):
                os.remove(os.path.join(self.dir, name))
        shutil.rmtree(self.log)
        os.makedirs(self.log)

    def shell(self, argv, script, env=None):
        print(f"--- {argv[0]}:\n{script}", flush=True)
        done = subprocess.run(argv + [script], cwd=self.dir, env=env or self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300)
        print(done.stdout, flush=True)
        return done.returncode, done.stdout

    def path(self, name):
        return os.path.join(self.dir, name)


def junit_failures(path):
    root = ET.parse(path).getroot()
    return [(case.get("name"), failure.get("type"), failure.get("message"))
            for case in root.iter("testcase") for failure in case.iter("failure")]


def expect_one_failure(project, junit, function, where):
    """The gate failed on the leak at `function` alone, in `parse`."""
    failures = junit_failures(project.path(junit))
    names = [case.get("name") for case in ET.parse(project.path(junit)).getroot().iter("testcase")
             if case.find("skipped") is None]
    expect(len(failures) == 1 and failures[0][0] == "parse" and
           failures[0][1] == "leak/definite" and f" at {function} (parse.c:" in failures[0][2],
           f"{where}: JUnit failures {failures}, expected the leak at {function} alone")
    expect(sorted(names) == ["parse", "tidy"],
           f"{where}: judged test cases {names}: the test programs alone (--only-exe)")


# ---- GitHub Actions ---------------------------------------------------------------

def github_steps(workflow):
    """Static part: the trigger, the actions' versions, the JUnit and SARIF
    files uploaded whatever happened. Returns the job's run steps."""
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare on as true
    expect(isinstance(triggers, dict) and "push" in triggers and "pull_request" in triggers,
           f"GitHub: on: {triggers}")
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    uses = {step["uses"].split("@")[0]: step for step in steps if "uses" in step}
    for action, version in ACTIONS.items():
        expect(action in uses and uses[action]["uses"].endswith("@" + version),
               f"GitHub: {action} not used at @{version}: {sorted(uses)}")
    gate_line = next(step["run"] for step in steps if "leakscope run" in step.get("run", ""))
    junit = re.search(r"--junit (\S+)", gate_line).group(1)
    sarif = re.search(r"--sarif (\S+)", gate_line).group(1)
    artifact = uses["actions/upload-artifact"]
    expect(artifact.get("if") == "always()" and junit in artifact["with"]["path"].split(),
           f"GitHub: the JUnit file {junit} is not uploaded whatever happened: {artifact}")
    upload = uses["github/codeql-action/upload-sarif"]
    expect(upload.get("if") == "always()" and upload["with"]["sarif_file"] == sarif,
           f"GitHub: the SARIF file {sarif} is not uploaded whatever happened: {upload}")
    expect(job.get("permissions", {}).get("security-events") == "write",
           "GitHub: the SARIF upload needs security-events: write")
    return job, [step for step in steps if "run" in step], junit, sarif


def run_github(project, workflow):
    job, steps, junit, sarif = github_steps(workflow)
    check_install_lines([line for step in steps for line in step["run"].splitlines()],
                        "GitHub")
    env = dict(project.env, **{k: str(v) for k, v in job.get("env", {}).items()})
    env["LEAKSCOPE_GIT"] = project.env["LEAKSCOPE_GIT"]
    status = 0
    for step in steps:
        lines = [line for line in step["run"].splitlines() if not is_install(line)]
        if not "".join(lines).strip():
            continue
        # a container job's default shell: sh -e
        status, _ = project.shell(["sh", "-e", "-c"], "\n".join(lines), env)
        if status != 0:
            break
        expect("leakscope run" not in step["run"], "GitHub: the gate passed on a leak")
    expect(status == GATE_FAILED, f"GitHub: the job's failing step exited {status}, not 23")
    check_apt(project.log, "GitHub")
    expect_one_failure(project, junit, "parse_line", "GitHub")
    results = lkstest.load_json(project.path(sarif))["runs"][0]["results"]
    where = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    expect(len(results) == 1 and results[0]["ruleId"] == "leak/definite" and
           where == ["parse.c"], f"GitHub: SARIF results at {where}")


# ---- GitLab CI ----------------------------------------------------------------------

GITLAB_ENV = {"CI_API_V4_URL": "https://gitlab.test/api/v4", "CI_PROJECT_ID": "42",
              "CI_JOB_TOKEN": "token", "CI_DEFAULT_BRANCH": "main"}


def gitlab_job(project, pipeline, name, branch):
    """One job as GitLab runs it: before_script and script in one shell
    with set -eo pipefail; its artifacts kept under the branch."""
    job = pipeline[name]
    lines = pipeline["default"]["before_script"] + job["script"]
    script = "\n".join(line for line in lines if not is_install(line))
    env = dict(project.env, **GITLAB_ENV, CI_COMMIT_BRANCH=branch,
               **{k: str(v) for k, v in pipeline.get("variables", {}).items()})
    env["LEAKSCOPE_GIT"] = project.env["LEAKSCOPE_GIT"]
    status, output = project.shell(["bash", "-c"], "set -eo pipefail\n" + script, env)
    check_apt(project.log, f"GitLab {name}")
    for path in job.get("artifacts", {}).get("paths", []):
        if os.path.exists(project.path(path)):
            kept = os.path.join(project.artifacts, branch, name, path)
            os.makedirs(os.path.dirname(kept), exist_ok=True)
            shutil.copyfile(project.path(path), kept)
    return status, output


def gitlab_checks(pipeline):
    """Static part: the JUnit report, the baseline job's artifact read by
    the gate's job, the baseline job on the default branch only."""
    check_install_lines(pipeline["default"]["before_script"], "GitLab")
    leaks, baseline = pipeline["leaks"], pipeline["leaks-baseline"]
    gate_line = next(line for line in leaks["script"] if "leakscope run" in line)
    junit = re.search(r"--junit (\S+)", gate_line).group(1)
    expect(leaks["artifacts"]["reports"]["junit"] == junit and
           leaks["artifacts"]["when"] == "always",
           f"GitLab: JUnit report {leaks['artifacts']}, the gate writes {junit}")
    written = re.search(r"--write-baseline (\S+)", " ".join(baseline["script"])).group(1)
    expect(baseline["artifacts"]["paths"] == [written],
           f"GitLab: leaks-baseline keeps {baseline['artifacts']}, writes {written}")
    expect(baseline["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}],
           f"GitLab: leaks-baseline runs {baseline['rules']}")
    return junit


def run_gitlab(project, pipeline):
    junit = gitlab_checks(pipeline)
    status, output = gitlab_job(project, pipeline, "leaks", "topic")
    expect(status == GATE_FAILED and "no baseline from main yet" in output,
           f"GitLab, no baseline yet: exit {status}")
    expect_one_failure(project, junit, "parse_line", "GitLab, no baseline yet")
    project.write(second_leak=False)
    status, _ = gitlab_job(project, pipeline, "leaks-baseline", "main")
    expect(status == 0, f"GitLab leaks-baseline: exit {status}")
    project.write(second_leak=False)
    status, _ = gitlab_job(project, pipeline, "leaks", "topic")
    with open(os.path.join(project.log, "curl"), encoding="utf-8") as f:
        fetched = f.read()
    expect(status == 0 and "jobs/artifacts/main/raw/" in fetched,
           f"GitLab, the known leak against main's baseline: exit {status}, curl {fetched}")
    project.write(second_leak=True)
    status, _ = gitlab_job(project, pipeline, "leaks", "topic")
    expect(status == GATE_FAILED, f"GitLab, a second leak: exit {status}")
    expect_one_failure(project, junit, "parse_value", "GitLab, a second leak")


def main():
    parser = lkstest.argument_parser(__doc__, shim=False)
    parser.add_argument("--doc", required=True, type=os.path.abspath)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="leakscope-recipes-")
    errors = []
    for heading, run in (("GitHub Actions", run_github), ("GitLab CI", run_gitlab)):
        try:
            run(Project(os.path.join(tmp, heading.split()[0]), args.leakscope),
                recipe(args.doc, heading))
        except (CheckError, KeyError, TypeError, StopIteration, AttributeError) as failure:
            errors.append(f"{heading}: {type(failure).__name__} {failure}")
    return lkstest.finish(errors, "ok: both CI recipes, as written, fail on the one leak",
                          tmp)


if __name__ == "__main__":
    sys.exit(main())
