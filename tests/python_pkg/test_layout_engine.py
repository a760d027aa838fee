"""plcio.Layout (the C layout parser from Python) and plcio.Engine (the sync
engine in a thread of this process) against plcio's simulator serving a DB
built from the same layout file; write_many results, bad configurations."""

import os

import pytest

import conftest
import plcio

FIXTURES = os.path.join(conftest.SOURCE_DIR, "tests", "fixtures", "layouts")
TEST_DB = os.path.join(FIXTURES, "test_db.db")


def test_layout_members_and_start_values():
    lay = plcio.Layout(TEST_DB)
    assert len(lay) == 1
    db = lay["test_db"]
    assert db is not None and db.size == 18 and db.number is None
    names = [m.name for m in db.members]
    assert names == ["vx_scaled", "vy_scaled", "vz_scaled", "bool_1", "bool_2", "bool_3", "bool_4", "int_1", "int_2"]
    m = db.member("bool_3")
    assert (m.type, m.byte, m.bit, m.size) == ("BOOL", 12, 2, 1)
    assert m.address(5) == "DB5.DBX12.2"
    assert db.member("int_2").address(5) == "DB5.DBW16:INT"
    assert db.values() == {"vx_scaled": 4.0, "vy_scaled": 5.0, "vz_scaled": 6.0, "bool_1": False, "bool_2": True,
                           "bool_3": True, "bool_4": False, "int_1": 21, "int_2": 74}
    image = db.start_image()
    assert len(image) == 18 and image[14:16] == b"\x00\x15"
    with pytest.raises(plcio.Error) as e:
        db.member("nope")
    assert e.value.code == plcio.ErrorCode.ENOTFOUND
    with pytest.raises(ValueError):
        db.values(b"\0")
    lay.close()
    with pytest.raises(ValueError):
        db.members  # noqa: B018 - the set is gone: refused, not a crash


def test_layout_from_text_and_errors(tmp_path):
    text = ('DATA_BLOCK "Recipe"\n{ S7_Optimized_Access := \'FALSE\' }\nSTRUCT\n  Name : String[10] := \'mix\';\n'
            '  Temp : Array[1..3] of Real;\n  Speed : Int := 7;\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n')
    db = plcio.Layout.from_text(text, "recipe.db")["Recipe"]
    assert [m.name for m in db.members] == ["Name", "Temp[1]", "Temp[2]", "Temp[3]", "Speed"]
    assert db.values()["Name"] == "mix" and db.values()["Speed"] == 7
    assert db.member("Temp").kind == "ARRAY" and db.member("Temp").count == 3
    with pytest.raises(plcio.Error) as e:
        plcio.Layout.from_text(text.replace("Int :=", "Intx :="), "bad.db")
    assert "bad.db:" in e.value.text
    with pytest.raises(plcio.Error) as e:
        plcio.Layout.from_text(text.replace("{ S7_Optimized_Access := 'FALSE' }\n", ""), "opt.db")
    assert e.value.code == plcio.ErrorCode.EOPTIMIZED
    assert plcio.Layout.from_text(text.replace("{ S7_Optimized_Access := 'FALSE' }\n", ""), "opt.db",
                                  assume_standard=True).warnings
    with pytest.raises(plcio.Error) as e:
        plcio.Layout(str(tmp_path / "missing.db"))
    assert e.value.code == plcio.ErrorCode.EIO
    with pytest.raises(TypeError):
        plcio.Layout(texts={"x.db": 5})


@pytest.fixture(scope="module")
def sim():
    child = conftest.Child([conftest.PLCIO_BIN, "sim", "s7", "--listen", "127.0.0.1:0", "--db", "5:" + TEST_DB,
                            "--seconds", "240"])
    yield child.port()
    child.stop()


def config(port, shm):
    return {"shm": shm, "layouts": [TEST_DB],
            "devices": [{"name": "plc", "url": "s7://127.0.0.1:%d" % port, "groups": [{"interval": "50ms", "db": 5}]}]}


def test_engine_reads_and_writes(sim):
    shm = "plcio-pypkg-eng-%d" % os.getpid()
    with plcio.Engine(config(sim, shm)) as eng:
        assert eng.shm_name == "/" + shm and eng.tag_count == 9
        seg = eng.segment()
        for _ in range(50):
            if seg.get("vx_scaled", details=True).quality == "good":
                break
            seg.wait_update(1.0)
        assert seg.read()["int_2"] == 74
        res = eng.write_many({"int_1": 5, "bool_1": True, "vz_scaled": -1.5, "nope": 1, "int_2": 70000})
        assert res["int_1"].ok and res["bool_1"].ok and res["vz_scaled"].ok
        assert not res["nope"].ok and res["nope"].code == plcio.ErrorCode.ENOTFOUND
        assert not res["int_2"].ok and res["int_2"].code == plcio.ErrorCode.ERANGE and "70000" in res["int_2"].message
        with plcio.S7Client("s7://127.0.0.1:%d" % sim) as c:
            assert c.read_many(["DB5.DBW14:INT", "DB5.DBX12.0", "DB5.DBD8:REAL"]) == [5, True, -1.5]
        assert eng.write("int_1", 6).ok
        with pytest.raises(TypeError):
            eng.write("int_1", object())
        seg.close()
    assert not os.path.exists("/dev/shm/" + shm)
    with pytest.raises(plcio.Error):
        eng.write("int_1", 1)


def test_engine_config_from_yaml_and_errors(tmp_path, sim):
    y = tmp_path / "sync.yaml"
    y.write_text("shm: plcio-pypkg-yaml-%d\nlayouts: [%s]\ndevices:\n  - url: s7://127.0.0.1:%d\n"
                 "    groups:\n      - {interval: 100ms, db: 5}\n" % (os.getpid(), TEST_DB, sim))
    eng = plcio.Engine(str(y))
    assert eng.tag_count == 9
    with pytest.raises(plcio.Error):
        eng.write("int_1", 1)  # not started
    eng.stop()
    bad = config(sim, "x")
    bad["devices"][0]["groups"][0]["tags"] = ["Levl"]
    with pytest.raises(plcio.Error) as e:
        plcio.Engine(bad)
    assert "Levl" in e.value.text
    with pytest.raises(plcio.Error) as e:
        plcio.Engine({"shm": "x", "devicez": []})
    assert e.value.code in (plcio.ErrorCode.ESYNTAX, plcio.ErrorCode.EINVAL)
    y.write_text("devices: [")
    with pytest.raises(plcio.Error):
        plcio.Engine(str(y))
    with pytest.raises(TypeError):
        plcio.Engine(42)


def test_engine_stops_cleanly_at_interpreter_exit(sim):
    shm = "plcio-pypkg-exit-%d" % os.getpid()
    code = ("import plcio, sys\neng = plcio.Engine(%r).start()\nseg = eng.segment()\nseg.wait_update(2.0)\n"
            "print('running', eng.shm_name, flush=True)\n" % config(sim, shm))  # no stop(): atexit does it
    env = conftest.child_env(python=True)
    env["PYTHONPATH"] = os.path.join(conftest.SOURCE_DIR, "python")
    import subprocess
    r = subprocess.run([conftest.PYTHON, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "running /" + shm in r.stdout
    assert not os.path.exists("/dev/shm/" + shm)
