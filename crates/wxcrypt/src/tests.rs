//! The published vectors of protocol.md §3.1 (V1–V5), malformed inputs, and
//! property-style loops.
use super::*;
use rand::Rng as _;

const V1_ENCRYPT: &str = "D7yzvUNAL930rd28wf21s4hvXhz0L6Uit/p2Di6C5DHyYGpEgdBRnKjBec34JwoQXicwaZC7fOVihW80F4VtsdvE//1vr7oAbqjDv8KenVp+ajKYpJnyQ4zMRhIC+a31fCVOMC03FfzV/QuC94kBP55a+Za3sJgvAn+ZbsNqZI5DkyuzkhQN8OBqCzFhizGmy0xpM0MEA4agpvE+RuNO1rhHTtuJB5yltw1FiYzecSXJ+y/D2r81VkRn2eYjh2ltsoyfbDR7Is6ookXIFxTfyeNyeHxMeT4KN5WpCDmSbTcUYrbBUlkGLJ9n/rU8YOywma6G7aTb7KZKOqCxgfoUlYEZPk4FUL/TK7ShriFDMVCLyjQJ15Ob++agDWtcxhfUfe6HIoIpRW8mKNBQiY/Jd1svvuskA1wLef1RTtzKfMpagSCX/laZINmdnX4zrF6kIaR9P4xQrWXbsTFHTYe0Mg==";
const V1_MSG: &str = "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>\n<CreateTime>1715943329</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[debug_demo]]></Event>\n<debug_str><![CDATA[hello world]]></debug_str>\n</xml>";
const V1_SIG: &str = "6c12a4205838198b8fa631b3220723bb07f1015c";
const V1_TS: &str = "1715943329";
const V1_NONCE: &str = "1590219412";

const V3_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const V5_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";

fn v1() -> MsgCrypt {
    MsgCrypt::new("AAAAA", &"A".repeat(43), "wx134c8103faa5a59e").unwrap()
}

fn v3() -> MsgCrypt {
    MsgCrypt::new("pamtest", V3_KEY, "wxb11529c136998cb6").unwrap()
}

fn v5() -> MsgCrypt {
    MsgCrypt::new("123456", V5_KEY, "wx49f0ab532d5d035a").unwrap()
}

/// AES-CBC without any padding of ours, to forge plaintexts for negative tests.
fn raw_encrypt(key: &AesKey, mut plain: Vec<u8>) -> String {
    assert!(plain.len().is_multiple_of(AES_BLOCK));
    let (blocks, _) = Array::slice_as_chunks_mut(&mut plain);
    cbc::Encryptor::<Aes256>::new(&key.0.into(), &key.iv().into()).encrypt_blocks(blocks);
    STANDARD.encode(plain)
}

#[test]
fn key_decoding_matches_protocol() {
    assert_eq!(AesKey::parse(&"A".repeat(43)).unwrap().0, [0u8; 32]);
    assert_eq!(
        hex::encode(AesKey::parse(V3_KEY).unwrap().0),
        "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051"
    );
}

#[test]
fn v1_third_party_push_verifies_and_decrypts() {
    let c = v1();
    c.verify_signature(V1_SIG, V1_TS, V1_NONCE, V1_ENCRYPT)
        .unwrap();
    // Upper-case hex is accepted too.
    c.verify_signature(&V1_SIG.to_uppercase(), V1_TS, V1_NONCE, V1_ENCRYPT)
        .unwrap();
    assert_eq!(msg_signature("AAAAA", V1_TS, V1_NONCE, V1_ENCRYPT), V1_SIG);

    let d = c.decrypt(V1_ENCRYPT).unwrap();
    assert_eq!(&d.random, b"1205899eaf019bbd");
    assert_eq!(d.message, V1_MSG);
    assert_eq!(d.message.len(), 292);
    assert_eq!(d.appid, "wx134c8103faa5a59e");

    // 352 ciphertext bytes → FullStr 330 bytes (pad 22).
    let raw = STANDARD.decode(V1_ENCRYPT).unwrap();
    assert_eq!(raw.len(), 352);
    assert_eq!(c.key.decrypt(&raw).unwrap().len(), 330);

    let body = format!(
        "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{V1_ENCRYPT}]]></Encrypt></xml>"
    );
    assert_eq!(c.open(V1_SIG, V1_TS, V1_NONCE, &body).unwrap(), d);
}

#[test]
fn v1_reply_encrypts_deterministically() {
    let c = v1();
    let msg = "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>";
    assert_eq!(msg.len(), 52);
    let encrypt = c.encrypt_with_random(msg, *b"999951349e8ee746");
    assert_eq!(
        encrypt,
        "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7"
    );
    assert_eq!(STANDARD.decode(&encrypt).unwrap().len(), 96);
    assert_eq!(
        msg_signature("AAAAA", "1713424427", "415670741", &encrypt),
        "03e0812039325c2712ef5f0f980fd14c70d6e307"
    );
}

#[test]
fn v2_official_sample_decrypts() {
    let encrypt = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
    let c = MsgCrypt::new("spamtest", V3_KEY, "wx2c2769f8efd9abc2").unwrap();
    c.verify_signature(
        "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
        "1409735669",
        "1320562132",
        encrypt,
    )
    .unwrap();
    let d = c.decrypt(encrypt).unwrap();
    assert_eq!(&d.random, b"89465c840c5f116f");
    assert_eq!(d.message.len(), 280);
    assert_eq!(d.appid, "wx2c2769f8efd9abc2");
    assert_eq!(
        d.message,
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"
    );
}

#[test]
fn v3_wxjava_deterministic_encrypt() {
    let c = v3();
    let encrypt = c.encrypt_with_random("我是中文abcd123", *b"aaaabbbbccccdddd");
    assert_eq!(
        encrypt,
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    );
    assert_eq!(
        msg_signature("pamtest", "1409304348", "xxxxxx", &encrypt),
        "82c962d39941aa48552f90ef55aa323dc620cc10"
    );
    let d = c.decrypt(&encrypt).unwrap();
    assert_eq!(d.message, "我是中文abcd123");
    assert_eq!(&d.random, b"aaaabbbbccccdddd");
}

#[test]
fn v3_wxjava_longer_vector() {
    // WxJava WxCryptUtilTest `replyMsg2` / `afterAesEncrypt2`.
    let msg = "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>";
    let expected = "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb";
    assert_eq!(
        v3().encrypt_with_random(msg, *b"aaaabbbbccccdddd"),
        expected
    );
    assert_eq!(v3().decrypt(expected).unwrap().message, msg);
}

/// easywechat `tests/Kernel/EncryptorTest.php` (envelope with indentation).
const V4_ENVELOPE: &str = "<xml>\n    <ToUserName><![CDATA[asdasdasd]]></ToUserName>\n    <Encrypt><![CDATA[rTNFcsut4LfGuAFKEUVVpwcaCOTJzOd9twZdIW910jb3k+iicx2uvhttIZ3Qg9Qgty3BEF2xbOrz6boTfb30dMomcgrkTqdFPwnhqbk+kIQ7rZiwny9D7NUrTgA5kpX3KsZvrXzUZyP2x9YOlxbgm572lmxKvM7HAQQhIQ/p6HBmoY30bGXFK0BtIu1pW9TjhOYrLQoU18nWYjWqDA1ynkmOytpv7QRI1P1+0NoxL0q2zO1DgeSvnE8CZGo/o5Ap/WHK5W2RAsinpzN4/LjPnmB6U01I5XCoJoC0GK/yMZycd2Oh8Nq6+wBkC1U85oy0ktOY4nLvsQMLrourmMGdZHuTbqpeJ8Ao/5PRYJ+WBvRUwPfGKBL2+2IKZF49vAJqkcGWSHGE76ZN2erXeuNazf/o9o3lIE3q739o4c8t9QGPe31GT2Go/rOz1BsrASwvauNulCh+++yz+CQzBIuikA==]]></Encrypt>\n</xml>\n";

#[test]
fn v4_easywechat_decrypts() {
    let (sig, nonce, ts) = (
        "4f3ad57b6989f09f4eb392acce4f9e93942ed890",
        "260774613",
        "1458300676",
    );
    let d = v3().open(sig, ts, nonce, V4_ENVELOPE).unwrap();
    assert_eq!(d.appid, "wxb11529c136998cb6");
    for part in [
        "<ToUserName><![CDATA[asdasdasd]]></ToUserName>",
        "<FromUserName><![CDATA[asdasdasdsadasd]]></FromUserName>",
        "<CreateTime>1234567898</CreateTime>",
        "<Content><![CDATA[hello]]></Content>",
    ] {
        assert!(d.message.contains(part), "{part} in {}", d.message);
    }
    // testDecryptWithErrorSignature / testDecryptWithErrorAppId.
    assert_eq!(
        v3().open("invalid-signature", ts, nonce, V4_ENVELOPE),
        Err(CryptError::InvalidSignature)
    );
    let other = MsgCrypt::new("pamtest", V3_KEY, "invalid appid").unwrap();
    assert_eq!(
        other.open(sig, ts, nonce, V4_ENVELOPE),
        Err(CryptError::AppIdMismatch {
            expected: "invalid appid".into(),
            actual: "wxb11529c136998cb6".into()
        })
    );
}

#[test]
fn v5_wechatpy_signature_check() {
    // test_check_signature_should_ok / _should_fail (WeCom URL verification echostr).
    let echo =
        "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==";
    let sig = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96";
    v5().verify_signature(sig, "1411443780", "437374425", echo)
        .unwrap();
    assert_eq!(
        v5().verify_signature(sig, "1411443780", "437374424", echo),
        Err(CryptError::InvalidSignature)
    );
    assert_eq!(v5().decrypt(echo).unwrap().appid, "wx49f0ab532d5d035a");
}

#[test]
fn v5_wechatpy_encrypt_message() {
    let reply = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>";
    let encrypt = v5().encrypt_with_random(reply, *b"1234567890123456");
    assert_eq!(
        encrypt,
        "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
    );
    assert_eq!(
        msg_signature("123456", "1411525903", "461056294", &encrypt),
        "407518b7649e86ef23978113f92d27afa9296533"
    );
}

#[test]
fn v5_wechatpy_decrypt_message() {
    let xml = "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>\n<AgentID><![CDATA[1]]></AgentID>\n</xml>";
    let d = v5()
        .open(
            "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
            "1411525903",
            "461056294",
            xml,
        )
        .unwrap();
    assert!(d.message.contains("<Content><![CDATA[test]]></Content>"));
    assert!(
        d.message
            .contains("<FromUserName><![CDATA[messense]]></FromUserName>")
    );
}

#[test]
fn reply_xml_round_trips() {
    let c = v1();
    let reply = c.seal_reply("<xml>ok</xml>", "1713424427", "415670741");
    assert_eq!(
        reply.msg_signature,
        msg_signature("AAAAA", "1713424427", "415670741", &reply.encrypt)
    );
    let xml = reply.to_xml();
    assert_eq!(
        xml,
        format!(
            "<xml><Encrypt><![CDATA[{}]]></Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>1713424427</TimeStamp><Nonce>415670741</Nonce></xml>",
            reply.encrypt, reply.msg_signature
        )
    );
    assert_eq!(extract_encrypt(&xml).unwrap(), reply.encrypt);
    assert_eq!(c.decrypt(&reply.encrypt).unwrap().message, "<xml>ok</xml>");
    // A hostile nonce is escaped, not injected.
    let odd = c.seal_reply("x", "1", "<a>&]]>").to_xml();
    assert!(odd.contains("<Nonce>&lt;a&gt;&amp;]]&gt;</Nonce>"), "{odd}");
}

#[test]
fn seal_push_envelopes() {
    let c = v1();
    let (body, sig) = c.seal_push(Some(("AppId", "wx134c8103faa5a59e")), "<xml/>", "1", "2");
    assert!(
        body.starts_with("<xml><AppId><![CDATA[wx134c8103faa5a59e]]></AppId><Encrypt><![CDATA[")
    );
    assert_eq!(c.open(&sig, "1", "2", &body).unwrap().message, "<xml/>");
    let (body, sig) = c.seal_push(Some(("ToUserName", "gh_97417a04a28d")), "m", "1", "2");
    assert!(body.starts_with("<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>"));
    assert_eq!(c.open(&sig, "1", "2", &body).unwrap().message, "m");
    let (body, sig) = c.seal_push(None, "m", "1", "2");
    assert!(body.starts_with("<xml><Encrypt><![CDATA["));
    assert_eq!(c.open(&sig, "1", "2", &body).unwrap().message, "m");
    // A value containing "]]>" still yields well-formed XML.
    let (body, sig) = c.seal_push(Some(("ToUserName", "a]]>b")), "m", "1", "2");
    assert_eq!(c.open(&sig, "1", "2", &body).unwrap().message, "m");
}

#[test]
fn extract_encrypt_forms() {
    assert_eq!(
        extract_encrypt("<xml><Encrypt>abc+/=</Encrypt></xml>").unwrap(),
        "abc+/="
    );
    assert_eq!(
        extract_encrypt("<xml><A>1</A><Encrypt><![CDATA[ab]]></Encrypt><B><C/></B></xml>").unwrap(),
        "ab"
    );
    for bad in [
        "",
        "not xml",
        "{\"Encrypt\":\"x\"}",
        "<xml><A>1</A></xml>",
        "<xml><Encrypt></Encrypt></xml>",
        "<xml><Encrypt>abc</xml>",
        "<xml><Echoed_marker>x</Echoed_markeR></xml>",
    ] {
        let e = extract_encrypt(bad).unwrap_err();
        assert!(matches!(e, CryptError::Xml(_)), "{bad:?}: {e:?}");
        // The error never quotes the input (it reaches logs and answers).
        assert!(!format!("{e} {e:?}").contains("marker"), "{e}");
        assert_eq!(e.code(), -40002);
    }
}

#[test]
fn wrong_signature_is_rejected() {
    let c = v1();
    for sig in [
        "0000000000000000000000000000000000000000",
        "6c12a4205838198b8fa631b3220723bb07f1015d",
        "6c12a4205838198b8fa631b3220723bb07f101",
        "",
        "zz",
        "6c12a4205838198b8fa631b3220723bb07f1015c00",
    ] {
        assert_eq!(
            c.verify_signature(sig, V1_TS, V1_NONCE, V1_ENCRYPT),
            Err(CryptError::InvalidSignature),
            "{sig:?}"
        );
    }
    // Another token signs differently.
    let other = MsgCrypt::new("BBBBB", &"A".repeat(43), "wx134c8103faa5a59e").unwrap();
    assert_eq!(
        other
            .verify_signature(V1_SIG, V1_TS, V1_NONCE, V1_ENCRYPT)
            .unwrap_err()
            .code(),
        -40001
    );
}

#[test]
fn malformed_ciphertexts_are_typed_errors() {
    let c = v1();
    assert_eq!(c.decrypt("not base64!!"), Err(CryptError::Base64));
    assert_eq!(c.decrypt("not base64!!").unwrap_err().code(), -40010);
    assert_eq!(c.decrypt(""), Err(CryptError::InvalidCiphertextLength));
    // Truncated Encrypt text: no longer valid base64.
    assert_eq!(
        c.decrypt(&V1_ENCRYPT[..V1_ENCRYPT.len() - 7]),
        Err(CryptError::Base64)
    );
    let raw = STANDARD.decode(V1_ENCRYPT).unwrap();
    // Truncated ciphertext, re-encoded: not a multiple of 16.
    assert_eq!(
        c.decrypt(&STANDARD.encode(&raw[..raw.len() - 5])),
        Err(CryptError::InvalidCiphertextLength)
    );
    assert_eq!(
        c.decrypt(&STANDARD.encode(&raw[..raw.len() - 5]))
            .unwrap_err()
            .code(),
        -40007
    );
    // Whole blocks dropped: decrypts to garbage, still a typed error.
    for cut in [16, 32, 48, raw.len() - 16] {
        assert!(
            c.decrypt(&STANDARD.encode(&raw[..raw.len() - cut]))
                .is_err()
        );
    }
    // A single block: too short for the header after unpadding, or bad padding.
    assert!(c.decrypt(&STANDARD.encode(&raw[..16])).is_err());
}

#[test]
fn appid_mismatch_is_reported() {
    let other = MsgCrypt::new("AAAAA", &"A".repeat(43), "wx0000000000000000").unwrap();
    let e = other.decrypt(V1_ENCRYPT).unwrap_err();
    assert_eq!(
        e,
        CryptError::AppIdMismatch {
            expected: "wx0000000000000000".into(),
            actual: "wx134c8103faa5a59e".into()
        }
    );
    assert_eq!(e.code(), -40005);
    // The Mini Program appid is not the trailer (protocol.md §12 pitfall 4).
    let mp = MsgCrypt::new("AAAAA", &"A".repeat(43), "wxba5fad812f8e6fb9").unwrap();
    assert_eq!(
        mp.open(
            V1_SIG,
            V1_TS,
            V1_NONCE,
            &format!("<xml><Encrypt>{V1_ENCRYPT}</Encrypt></xml>")
        )
        .unwrap_err()
        .code(),
        -40005
    );
    // Unchecked decryption still works.
    assert_eq!(
        other.decrypt_unchecked(V1_ENCRYPT).unwrap().appid,
        "wx134c8103faa5a59e"
    );
}

#[test]
fn non_xml_envelope_is_rejected() {
    let c = v1();
    assert_eq!(c.open("x", "1", "2", "not xml").unwrap_err().code(), -40002);
    assert_eq!(
        c.open("x", "1", "2", V1_ENCRYPT).unwrap_err().code(),
        -40002
    );
    assert_eq!(
        c.open("x", "1", "2", "<xml><A>1</A></xml>")
            .unwrap_err()
            .code(),
        -40002
    );
}

#[test]
fn invalid_keys_are_rejected() {
    for key in [
        "",
        "short",
        &"A".repeat(42),
        &"A".repeat(44),
        &format!("{}!", "A".repeat(42)),
        &format!("{}+", "A".repeat(42)),
        &format!("{}=", "A".repeat(42)),
        &format!("{}é", "A".repeat(41)),
    ] {
        let e = MsgCrypt::new("t", key, "wx").unwrap_err();
        assert_eq!(e, CryptError::InvalidAesKey, "{key:?}");
        assert_eq!(e.code(), -40004);
        assert_eq!(
            v1().with_previous_key(key).unwrap_err(),
            CryptError::InvalidAesKey
        );
    }
    // Non-zero trailing bits in the 43rd char are accepted (as the samples do).
    assert!(MsgCrypt::new("t", &format!("{}B", "A".repeat(42)), "wx").is_ok());
}

#[test]
fn debug_hides_secrets() {
    let c = MsgCrypt::new("sekrit-token", V3_KEY, "wxb11529c136998cb6")
        .unwrap()
        .with_previous_key(V5_KEY)
        .unwrap();
    let s = format!("{c:?}");
    assert!(s.contains("wxb11529c136998cb6"));
    for secret in ["sekrit-token", V3_KEY, V5_KEY, "69b71d79", "105, 183"] {
        assert!(!s.contains(secret), "{s}");
    }
}

#[test]
fn bad_padding_bytes_are_rejected() {
    let key = AesKey::parse(&"A".repeat(43)).unwrap();
    for pad in [0u8, 33, 64, 200, 255] {
        let mut plain = vec![7u8; 64];
        plain[63] = pad;
        let e = raw_encrypt(&key, plain);
        assert_eq!(
            key.decrypt(&STANDARD.decode(&e).unwrap()),
            Err(CryptError::InvalidPadding),
            "pad {pad}"
        );
        assert_eq!(v1().decrypt(&e), Err(CryptError::InvalidPadding));
    }
    // 32 with a one-block (16-byte) buffer would underflow.
    let e = raw_encrypt(&key, vec![32u8; 16]);
    assert_eq!(v1().decrypt(&e), Err(CryptError::InvalidPadding));
    // Pads 1..=32 are all accepted (lenient on the other pad bytes).
    for pad in 1..=32u8 {
        let mut plain = vec![0u8; 64];
        plain[63] = pad;
        let e = raw_encrypt(&key, plain);
        assert_eq!(
            key.decrypt(&STANDARD.decode(&e).unwrap()).unwrap().len(),
            64 - usize::from(pad)
        );
    }
}

#[test]
fn inconsistent_length_or_utf8_is_invalid_plaintext() {
    let key = AesKey::parse(&"A".repeat(43)).unwrap();
    let forge = |len: u32, body: &[u8]| {
        let mut plain = vec![1u8; 16];
        plain.extend_from_slice(&len.to_be_bytes());
        plain.extend_from_slice(body);
        // Pad like WeChat, but encrypt raw so the length field can lie.
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        raw_encrypt(&key, plain)
    };
    let c = v1();
    // msg_len larger than the remaining buffer.
    for len in [6, 1000, u32::MAX] {
        assert_eq!(
            c.decrypt_unchecked(&forge(len, b"hello")),
            Err(CryptError::InvalidPlaintext),
            "{len}"
        );
    }
    // Exactly consumed: empty appid.
    assert_eq!(c.decrypt_unchecked(&forge(5, b"hello")).unwrap().appid, "");
    // Non-UTF-8 message or appid.
    assert_eq!(
        c.decrypt_unchecked(&forge(2, b"\xff\xfewx")),
        Err(CryptError::InvalidPlaintext)
    );
    assert_eq!(
        c.decrypt_unchecked(&forge(2, b"ok\xff")),
        Err(CryptError::InvalidPlaintext)
    );
    assert_eq!(
        c.decrypt_unchecked(&forge(2, b"ok\xff"))
            .unwrap_err()
            .code(),
        -40008
    );
    // Shorter than the 20-byte header after unpadding.
    let mut short = vec![1u8; 19];
    short.extend(std::iter::repeat_n(13u8, 13));
    assert_eq!(
        c.decrypt_unchecked(&raw_encrypt(&key, short)),
        Err(CryptError::InvalidPlaintext)
    );
}

#[test]
fn previous_key_still_opens_during_rotation() {
    let old = MsgCrypt::new("t", &"B".repeat(43), "wx1").unwrap();
    let new = MsgCrypt::new("t", &"C".repeat(43), "wx1").unwrap();
    let rotated = new.clone().with_previous_key(&"B".repeat(43)).unwrap();

    let e_old = old.encrypt("hello");
    let e_new = new.encrypt("world");
    assert_eq!(rotated.decrypt(&e_old).unwrap().message, "hello");
    assert_eq!(rotated.decrypt(&e_new).unwrap().message, "world");
    assert_eq!(
        rotated.decrypt_with_slot(&e_old).unwrap().1,
        KeySlot::Previous
    );
    assert_eq!(
        rotated.decrypt_with_slot(&e_new).unwrap().1,
        KeySlot::Current
    );
    assert!(new.decrypt(&e_old).is_err());

    // Full push through `open`, and a reply with the key that worked.
    let (body, sig) = old.seal_push(Some(("AppId", "wx1")), "ticket", "10", "20");
    let (d, slot) = rotated.open_with_slot(&sig, "10", "20", &body).unwrap();
    assert_eq!((d.message.as_str(), slot), ("ticket", KeySlot::Previous));
    let reply = rotated.seal_reply_with_slot(slot, "ok", "10", "20");
    assert_eq!(old.decrypt(&reply.encrypt).unwrap().message, "ok");
    assert!(new.decrypt(&reply.encrypt).is_err());
    // `Previous` without a previous key falls back to the current key.
    let reply = new.seal_reply_with_slot(KeySlot::Previous, "ok", "1", "2");
    assert_eq!(new.decrypt(&reply.encrypt).unwrap().message, "ok");

    // Neither key: the current key's error.
    let stranger = MsgCrypt::new("t", &"D".repeat(43), "wx1").unwrap();
    assert!(rotated.decrypt(&stranger.encrypt("x")).is_err());
}

#[test]
fn random_messages_round_trip() {
    let c = v1().with_previous_key(V3_KEY).unwrap();
    let mut rng = rand::rng();
    for _ in 0..200 {
        let len = rng.random_range(0..200usize);
        // Mix ASCII, multi-byte and XML-special characters.
        let msg: String = (0..len)
            .map(|_| match rng.random_range(0..4) {
                0 => rng.random_range('a'..='z'),
                1 => ['<', '>', '&', ']', '\n', '"'][rng.random_range(0..6)],
                2 => rng.random_range('\u{4e00}'..='\u{9fff}'),
                _ => rng.random::<char>(),
            })
            .collect();
        let e = c.encrypt(&msg);
        assert!(STANDARD.decode(&e).unwrap().len().is_multiple_of(PAD_BLOCK));
        let d = c.decrypt(&e).unwrap();
        assert_eq!(d.message, msg);
        assert_eq!(d.appid, "wx134c8103faa5a59e");

        let ts = rng.random::<u32>().to_string();
        let nonce = rng.random::<u32>().to_string();
        let (body, sig) = c.seal_push(Some(("AppId", "wx134c8103faa5a59e")), &msg, &ts, &nonce);
        assert_eq!(c.open(&sig, &ts, &nonce, &body).unwrap().message, msg);
        let reply = c.seal_reply(&msg, &ts, &nonce);
        let enc = extract_encrypt(&reply.to_xml()).unwrap();
        c.verify_signature(&reply.msg_signature, &ts, &nonce, &enc)
            .unwrap();
        assert_eq!(c.decrypt(&enc).unwrap().message, msg);
    }
    // Every plaintext length mod 32 (pads 1..=32).
    for len in 0..=64usize {
        let msg = "x".repeat(len);
        let e = c.encrypt_with_random(&msg, [9; 16]);
        assert_eq!(c.decrypt(&e).unwrap().message, msg);
    }
}

#[test]
fn garbage_never_panics() {
    let c = v1().with_previous_key(V3_KEY).unwrap();
    let mut rng = rand::rng();
    for len in 0..400usize {
        let mut junk = vec![0u8; len];
        rng.fill_bytes(&mut junk);
        let _ = c.decrypt(&STANDARD.encode(&junk));
        let _ = c.decrypt_unchecked(&STANDARD.encode(&junk));
        let text = String::from_utf8_lossy(&junk);
        let _ = c.decrypt(&text);
        let _ = c.open(&text, &text, &text, &text);
        let _ = c.verify_signature(&text, "1", "2", &text);
        let _ = extract_encrypt(&text);
        let _ = MsgCrypt::new(&text, &text, &text);
    }
    // XML-ish garbage for the envelope parser.
    let atoms = [
        "<",
        ">",
        "/",
        "xml",
        "Encrypt",
        "<![CDATA[",
        "]]>",
        "&",
        "&amp;",
        "&#0;",
        "\"",
        "=",
        " a=",
        "<!DOCTYPE x [<!ENTITY e \"y\">]>",
        "<?xml version=\"1.0\"?>",
        "abc",
        "\n",
    ];
    for _ in 0..2000 {
        let n = rng.random_range(0..20);
        let s: String = (0..n)
            .map(|_| atoms[rng.random_range(0..atoms.len())])
            .collect();
        let _ = extract_encrypt(&s);
        let _ = c.open("x", "1", "2", &s);
    }
    // Valid ciphertexts with a bit flipped.
    let e = STANDARD.decode(c.encrypt("<xml>flip</xml>")).unwrap();
    for i in 0..e.len() * 8 {
        let mut f = e.clone();
        f[i / 8] ^= 1 << (i % 8);
        let _ = c.decrypt(&STANDARD.encode(&f));
    }
}
