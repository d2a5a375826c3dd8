"""Writes a corpus of real Claude Code projects for the end-to-end tests."""

import json
import os


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def project(root, name, skills=40, agents=25, commands=25, hooks=5, mcp=5):
    p = os.path.join(root, name)
    body = "Instructions for the assistant.\n" * 40
    for i in range(skills):
        write(
            f"{p}/.claude/skills/skill-{name}-{i}/SKILL.md",
            f"---\nname: skill-{name}-{i}\ndescription: Skill {i} of {name} for reviewing and deploying\nversion: 1.{i % 3}.0\n---\n{body}",
        )
    for i in range(agents):
        write(f"{p}/.claude/agents/agent-{i}.md", f"---\nname: agent-{name}-{i}\ndescription: Agent {i}\nmodel: sonnet\n---\n{body}")
    for i in range(commands):
        write(f"{p}/.claude/commands/cmd-{i}.md", f"Command {i} of {name}\n{body}")
    write(
        f"{p}/.claude/settings.json",
        json.dumps({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": f"./h{i}.sh"}]} for i in range(hooks)]}}),
    )
    write(f"{p}/.mcp.json", json.dumps({"mcpServers": {f"srv-{i}": {"command": "npx", "args": [f"s{i}"]} for i in range(mcp)}}))
    return p


def corpus(root, projects=100):
    return [project(root, f"proj-{n:03}") for n in range(projects)]
