"""JT/T 808 frames, field by field: Traccar's test vectors (HuabaoProtocolDecoderTest,
HuabaoFrameDecoderTest) and frames built here by hand for what they lack (2019 headers,
escapes in header and body, replies)."""

import datetime as dt

import pytest

from civicgrid.vehicles import jt808

UTC = dt.UTC


def frame(hex_text: str) -> bytes:
    """The bytes between the flags of a whole frame written as hex."""
    raw = bytes.fromhex(hex_text)
    assert raw[0] == raw[-1] == 0x7E
    return raw[1:-1]


def test_traccar_frame_decoder_vector_unescapes():
    # HuabaoFrameDecoderTest: 7e307d02087d01557e → 7e307e087d557e
    assert jt808.unescape(bytes.fromhex("307d02087d0155")) == bytes.fromhex("307e087d55")
    assert jt808.escape(bytes.fromhex("307e087d55")) == bytes.fromhex("307d02087d0155")
    with pytest.raises(jt808.FrameError):
        jt808.unescape(bytes.fromhex("307d03"))


def test_splitter_cuts_a_stream_wherever_it_breaks():
    a = bytes.fromhex("7e0002000004304832546500b7ca7e")
    b = bytes.fromhex("7E0102000E013511221122000661757468656E7469636174696F6E3F7E")
    stream = b"junk" + a + b + a
    for cut in range(1, len(stream)):
        splitter = jt808.Splitter()
        frames = splitter.feed(stream[:cut]) + splitter.feed(stream[cut:])
        assert frames == [a[1:-1], b[1:-1], a[1:-1]]


def test_heartbeat_header_2013():
    # Traccar: 7e0002000004304832546500b7ca7e
    m = jt808.parse(frame("7e0002000004304832546500b7ca7e"))
    assert (m.msg_id, m.phone, m.serial, m.body, m.version) == (
        0x0002,
        "043048325465",
        0xB7,
        b"",
        None,
    )


def test_location_2013_every_field():
    # Traccar's vector 7E0200…BD07E: its check code (0xD0) is wrong (the XOR is 0xF0; Traccar
    # does not check), so the gateway answers it 0x8001 result 2. Its body, read on its own:
    raw = frame(
        "7E02000032013511221122000700000000000C000301578CC006CA3A5C004700000000"
        "14072317201501040000000030011631010BD07E"
    )
    with pytest.raises(jt808.FrameError, match="check code") as caught:
        jt808.parse(raw)
    m = caught.value.header
    m.body = raw[12:-1]
    assert (m.msg_id, m.phone, m.serial) == (0x0200, "013511221122", 7)
    loc = jt808.parse_location(m.body)
    assert loc.alarm == 0 and loc.status == 0x000C0003 and loc.valid
    assert loc.lat == pytest.approx(0x01578CC0 / 1e6) == pytest.approx(22.514880)
    assert loc.lon == pytest.approx(0x06CA3A5C / 1e6) == pytest.approx(113.916508)
    assert (loc.altitude, loc.speed, loc.direction) == (0x47, 0.0, 0)
    assert loc.time == dt.datetime(2014, 7, 23, 9, 20, 15, tzinfo=UTC)  # 17:20:15 GMT+8
    assert (loc.mileage, loc.signal, loc.satellites) == (0.0, 0x16, 0x0B)


def test_location_with_alarm_speed_and_extras():
    # Traccar's low-battery vector: alarm bit 7, 0x01 mileage, 0xEB extras kept raw
    m = jt808.parse(
        frame(
            "7E020000480123456789010013000000800000000301597BC506CBFF6600EB0000015521072620"
            "3531010400000000EB24000C00B28986047701207027150200060089FFFFEFFF0004002D0E1000"
            "0600C5FFFFFFEF697E"
        )
    )
    loc = jt808.parse_location(m.body)
    assert loc.alarm == 0x80 and loc.status == 3 and loc.valid
    assert loc.altitude == 0xEB and loc.speed == 0.0 and loc.direction == 0x155
    assert loc.time == dt.datetime(2021, 7, 26, 12, 35, 31, tzinfo=UTC)
    assert loc.mileage == 0.0 and 0xEB in loc.extras


def test_location_speed_and_fuel():
    # Traccar: ...0080 speed 0x0080 → 12.8 km/h, 0x02 fuel 0, 0x03 (kept raw)
    m = jt808.parse(
        frame(
            "7E0200002A013833501744001900000000000000C201597FA806CC01580080000000081508180721"
            "210104000002F502020000030200009F7E"
        )
    )
    loc = jt808.parse_location(m.body)
    assert loc.status == 0xC2 and loc.valid
    assert (loc.altitude, loc.speed, loc.direction) == (0x80, 0.0, 8)
    assert loc.mileage == pytest.approx(0x2F5 / 10) and loc.fuel == 0.0


def test_south_and_west_bits_sign_the_coordinates():
    body = bytearray(
        jt808.parse(
            frame(
                "7E0200002A013833501744001900000000000000C201597FA806CC01580080000000081508180721210104000002F502020000030200009F7E"
            )
        ).body
    )
    body[4:8] = (0xC2 | jt808.STATUS_SOUTH | jt808.STATUS_WEST).to_bytes(4, "big")
    loc = jt808.parse_location(bytes(body))
    assert loc.lat == pytest.approx(-0x01597FA8 / 1e6) and loc.lon == pytest.approx(
        -0x06CC0158 / 1e6
    )


def test_batch_0704_normal_and_backfill():
    # Traccar's 0x0704 vector: 8 items, type 1 (blind-area backfill)
    m = jt808.parse(
        frame(
            "7E0704014301356777777707F5000801002600000000000000030159741206CBFD50017200000001160527"
            "09062401040000001D03020000002600000000000000030159746606CBFD50016B000000011605270906"
            "5301040000001D0302000000260000000000000003015975E406CBFE58013F0000000116052709072701"
            "040000001D0302000000260000000000000003015976DE06CBFF10012E00000001160527090756010400"
            "00001D0302000000260000000000000003015976BC06CBFED0012D000000011605270908300104000000"
            "1D0302000000260000000000000003015976FE06CBFEC00108000000011605270909000104000000"
            "1D0302000000260000000000000003015976FE06CBFE7800FC000000011605270909330104000000"
            "1D0302000000260000000000000003015977A606CBFF3001080000000116052709100201040000001D"
            "030200001F7E"
        )
    )
    kind, locations = jt808.parse_batch(m.body)
    assert kind == 1 and len(locations) == 8
    first = locations[0]
    assert first.lat == pytest.approx(0x01597412 / 1e6) and first.lon == pytest.approx(
        0x06CBFD50 / 1e6
    )
    assert first.altitude == 0x172 and first.direction == 1
    assert first.time == dt.datetime(2016, 5, 27, 1, 6, 24, tzinfo=UTC)
    assert first.mileage == pytest.approx(2.9)
    assert locations[-1].time == dt.datetime(2016, 5, 27, 1, 10, 2, tzinfo=UTC)


def test_register_2013_and_2011_bodies_with_gbk_plates():
    m = jt808.parse(
        frame(
            "7E0100002D013511221122000500000000373031303748422D5230334742440000000000000000000000"
            "3233363631303402CBD5424136383630387E"
        )
    )
    reg = jt808.parse_register(m)
    assert (reg.manufacturer, reg.model, reg.terminal_id) == ("70107", "HB-R03GBD", "2366104")
    assert (reg.plate_color, reg.plate) == (2, "苏BA6860")
    m = jt808.parse(
        frame(
            "7E01000021013345678906000F002C012F373031313142534A2D4D3742203030303030303001D4C1423838383838B47E"
        )
    )
    reg = jt808.parse_register(m)
    assert (reg.province, reg.city, reg.model, reg.terminal_id) == (
        0x2C,
        0x12F,
        "BSJ-M7B",
        "0000000",
    )
    assert reg.plate == "粤B88888"


def test_auth_2013_body_is_the_code():
    m = jt808.parse(frame("7E0102000E013511221122000661757468656E7469636174696F6E3F7E"))
    assert jt808.parse_auth(m) == "authentication"


def test_bad_check_code_and_length_are_told_with_the_header():
    raw = bytearray(frame("7e0002000004304832546500b7ca7e"))
    raw[-1] ^= 1
    with pytest.raises(jt808.FrameError) as caught:
        jt808.parse(bytes(raw))
    assert caught.value.header.serial == 0xB7
    with pytest.raises(jt808.FrameError):
        jt808.parse(bytes.fromhex("0002"))


def test_general_response_bytes_2013():
    m = jt808.parse(
        frame(
            "7E0200002A013833501744001900000000000000C201597FA806CC01580080000000081508180721210104000002F502020000030200009F7E"
        )
    )
    reply = jt808.general_response(m, 0, jt808.OK)
    body = "0019" + "0200" + "00"
    head = "8001" + "0005" + "013833501744" + "0000"
    check = 0
    for b in bytes.fromhex(head + body):
        check ^= b
    assert reply == bytes.fromhex("7e" + head + body + f"{check:02x}" + "7e")


def test_2019_header_with_escapes_in_header_and_body():
    # a 2019 auth (version 1, phone BCD[10]) whose serial is 0x7e7d and code holds 0x7e
    body = bytes([4]) + b"ab~}" + b"860000000000001" + b"V1.0".ljust(20, b"\x00")
    raw = jt808.build(jt808.AUTH, "00000000013912345678", 0x7E7D, body, version=1)
    inner = raw[1:-1]
    assert b"\x7e" not in inner  # escaped
    m = jt808.parse(inner)
    assert (m.version, m.phone, m.serial, m.is_2019) == (1, "00000000013912345678", 0x7E7D, True)
    assert jt808.parse_auth(m) == "ab~}"
    reply = jt808.general_response(m, 5, jt808.FAILURE)
    r = jt808.parse(reply[1:-1])
    assert (r.msg_id, r.version, r.phone, r.serial) == (0x8001, 1, "00000000013912345678", 5)
    assert r.body == bytes.fromhex("7e7d010201")
    # the reply's own bytes: the header's serial 0x7e7d escaped in the body as 7d02 7d01
    assert bytes.fromhex("7d027d01") in reply


def test_register_response_carries_the_auth_code_only_on_success():
    m = jt808.parse(frame("7e0002000004304832546500b7ca7e"))
    ok = jt808.parse(jt808.register_response(m, 1, jt808.REG_OK, "c0de")[1:-1])
    assert ok.body == bytes.fromhex("00b7") + b"\x00c0de"
    refused = jt808.parse(jt808.register_response(m, 2, jt808.REG_NO_TERMINAL, "c0de")[1:-1])
    assert refused.body == bytes.fromhex("00b704")
