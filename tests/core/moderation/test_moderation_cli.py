"""`steward moderate` through click's CliRunner on the command object."""
from __future__ import annotations

import json

from click.testing import CliRunner

from steward.cli.moderate import moderate


def _run(input_text: str | bytes, *args: str):
    result = CliRunner().invoke(moderate, ["-", *args], input=input_text)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result, lines


def test_json_and_plain_lines() -> None:
    data = "\n".join([
        json.dumps({"text": "加我微信 abc_123 了解优惠", "platform": "wecom", "group": "g1",
                    "user": "u1"}, ensure_ascii=False),
        "你是傻逼",
        "明天九点培训，别迟到",
        json.dumps({"text": "身份证 110101199003071233", "user": "u2"}),
    ]) + "\n"
    result, out = _run(data)
    assert result.exit_code == 0, result.output
    assert [o["line"] for o in out] == [1, 2, 3, 4]
    assert out[0]["categories"] == ["ads"] and out[0]["clauses"] == ["R8.1.2"]
    assert out[0]["platform"] == "wecom" and out[0]["group"] == "g1" and out[0]["user"] == "u1"
    assert out[0]["first_offence"] == "warn" and out[0]["severity"] == "normal"
    assert {v["detector"] for v in out[0]["verdicts"]} == {"lexicon", "contact"}
    assert out[1]["categories"] == ["insult"] and out[1]["clauses"] == ["R1.3.3"]
    assert out[2]["categories"] == [] and out[2]["first_offence"] == "none"
    assert out[3]["first_offence"] == "remove" and out[3]["severity"] == "severe"
    assert out[3]["delete"] is True
    assert "110101199003071233" not in result.stdout


def test_bad_lines_are_reported_and_the_run_goes_on() -> None:
    data = (b'{"text": "ok"}\n{broken\n{"text": "x", "user": [1]}\n{"text": 5}\n\xff\xfe\n'
            b'{"text": "x", "at": "soon"}\n' + "你是傻逼\n".encode("utf-8"))
    result, out = _run(data)
    assert result.exit_code == 1
    errors = {o["line"]: o["error"] for o in out if "error" in o}
    assert set(errors) == {2, 3, 4, 5, 6}
    assert errors[2].startswith("line 2: invalid JSON")
    assert "'user' must be a string" in errors[3]
    assert "'text'" in errors[4]
    assert "UTF-8" in errors[5]
    assert "'at'" in errors[6]
    assert [o["line"] for o in out if "error" not in o] == [1, 7]
    assert out[-1]["categories"] == ["insult"]
    assert "5 bad line(s)" in result.stderr


def test_lexicon_file_tries_a_change(tmp_path) -> None:
    archive = "团建套餐了解一下\n代购渠道的风险点\n"
    _, before = _run(archive)
    assert [o["categories"] for o in before] == [[], ["ads"]]
    changes = tmp_path / "change.txt"
    changes.write_text("# trial\nads 团建套餐\n-ads 代购\n", "utf-8")
    _, after = _run(archive, "--lexicon-file", str(changes))
    assert [o["categories"] for o in after] == [["ads"], []]
    yaml_file = tmp_path / "steward.yaml"
    yaml_file.write_text("locale: zh-Hans\nlexicon:\n  ads: [团建套餐]\n", "utf-8")
    _, after = _run(archive, "--lexicon-file", str(yaml_file))
    assert after[0]["categories"] == ["ads"]


def test_bad_lexicon_file_is_a_usage_error(tmp_path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("spam 买它\n", "utf-8")
    result = CliRunner().invoke(moderate, ["-", "--lexicon-file", str(bad)], input="hi\n")
    assert result.exit_code == 2 and "bad.txt:1" in result.output


def test_flood_needs_times(tmp_path) -> None:
    lines = [json.dumps({"text": f"消息{i}", "group": "g", "user": "u",
                         "at": f"2026-03-02T09:00:{i:02d}Z"}) for i in range(10)]
    _, out = _run("\n".join(lines) + "\n")
    assert [o["line"] for o in out if "flood" in o["categories"]] == [9]
    _, out = _run("".join(f"消息{i}\n" for i in range(10)))      # no times: no flood state
    assert not any("flood" in o["categories"] for o in out)


def test_options_company_domain_and_code_names() -> None:
    _, out = _run("邮箱 a.b@acme.cn\nFalcon 进度如何\n", "--company-domain", "acme.cn",
                  "--code-name", "Falcon")
    assert out[0]["categories"] == [] and out[1]["categories"] == ["dlp"]
