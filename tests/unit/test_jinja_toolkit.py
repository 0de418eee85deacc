"""letters.py is the one place that builds Jinja2 environments, and its policy holds.

Office overrides win over the bundled templates, email text is never escaped while HTML is,
the web UI's pages escape everything, a misspelt variable is an operator's error naming the
template, and dates read the same in every environment, in English and Welsh.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from inbox_agent.errors import ConfigError
from inbox_agent.letters import (
    bundled_templates_dir,
    mail_environment,
    page_environment,
    render_template,
    short_date,
)

PACKAGE = Path(__file__).resolve().parents[2] / "inbox_agent"
DAY = dt.date(2027, 4, 29)


def test_no_module_but_letters_builds_a_jinja_environment() -> None:
    builders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "letters.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in ("Environment", "Template", "from_string"):
                    builders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert builders == []


def test_an_office_template_replaces_the_bundled_one_and_only_that(tmp_path: Path) -> None:
    office = tmp_path / "office"
    (office / "forward").mkdir(parents=True)
    (office / "forward" / "paro_cover.txt.j2").write_text("Ours, {{ name }}, {{ day|long_date }}\n")
    env = mail_environment(office)
    ours = render_template(env, "forward/paro_cover.txt.j2", {"name": "<Sam>", "day": DAY})
    assert ours == "Ours, <Sam>, Thursday 29 April 2027\n"  # plain text: nothing escaped
    bundled = (bundled_templates_dir() / "forward" / "internal_cover.txt.j2").is_file()
    assert bundled and env.get_template("forward/internal_cover.txt.j2").filename is not None
    assert str(office) not in str(env.get_template("forward/internal_cover.txt.j2").filename)
    with pytest.raises(ConfigError, match=r"policy\.template_dir"):
        mail_environment(tmp_path / "missing")


def test_html_is_escaped_text_is_not_and_pages_escape_everything(tmp_path: Path) -> None:
    (tmp_path / "note.html.j2").write_text("<p>{{ name }}</p>")
    (tmp_path / "note.txt.j2").write_text("{{ name }} on {{ day|long_date_cy(soft=True) }}")
    mail = mail_environment(tmp_path)
    name = {"name": "<script>x</script>", "day": DAY}
    assert render_template(mail, "note.html.j2", name) == "<p>&lt;script&gt;x&lt;/script&gt;</p>"
    assert render_template(mail, "note.txt.j2", name) == (
        "<script>x</script> on ddydd Iau 29 Ebrill 2027"
    )
    page = page_environment(tmp_path)
    assert render_template(page, "note.txt.j2", name).startswith("&lt;script&gt;")
    assert short_date(DAY) == "Thu 29 Apr 2027" and "short_date" in page.filters


def test_a_misspelt_variable_is_an_error_naming_the_template(tmp_path: Path) -> None:
    (tmp_path / "letter.txt.j2").write_text("Dear {{ requestor_name }}")
    with pytest.raises(ConfigError, match=r"letter\.txt\.j2 failed to render"):
        render_template(mail_environment(tmp_path), "letter.txt.j2", {"requester_name": "Sam"})
    with pytest.raises(ConfigError, match=r"nothing\.txt\.j2 not found"):
        render_template(mail_environment(tmp_path), "nothing.txt.j2", {})
