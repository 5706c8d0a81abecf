//! The published vectors of protocol.md §3.1, and malformed inputs.
use super::*;

const V1_ENCRYPT: &str = "D7yzvUNAL930rd28wf21s4hvXhz0L6Uit/p2Di6C5DHyYGpEgdBRnKjBec34JwoQXicwaZC7fOVihW80F4VtsdvE//1vr7oAbqjDv8KenVp+ajKYpJnyQ4zMRhIC+a31fCVOMC03FfzV/QuC94kBP55a+Za3sJgvAn+ZbsNqZI5DkyuzkhQN8OBqCzFhizGmy0xpM0MEA4agpvE+RuNO1rhHTtuJB5yltw1FiYzecSXJ+y/D2r81VkRn2eYjh2ltsoyfbDR7Is6ookXIFxTfyeNyeHxMeT4KN5WpCDmSbTcUYrbBUlkGLJ9n/rU8YOywma6G7aTb7KZKOqCxgfoUlYEZPk4FUL/TK7ShriFDMVCLyjQJ15Ob++agDWtcxhfUfe6HIoIpRW8mKNBQiY/Jd1svvuskA1wLef1RTtzKfMpagSCX/laZINmdnX4zrF6kIaR9P4xQrWXbsTFHTYe0Mg==";
const V1_MSG: &str = "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>\n<CreateTime>1715943329</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[debug_demo]]></Event>\n<debug_str><![CDATA[hello world]]></debug_str>\n</xml>";

fn v1() -> MsgCrypt {
    MsgCrypt::new("AAAAA", &"A".repeat(43), "wx134c8103faa5a59e").unwrap()
}

#[test]
fn v1_third_party_push_verifies_and_decrypts() {
    let c = v1();
    c.verify_signature(
        "6c12a4205838198b8fa631b3220723bb07f1015c",
        "1715943329",
        "1590219412",
        V1_ENCRYPT,
    )
    .unwrap();
    let d = c.decrypt(V1_ENCRYPT).unwrap();
    assert_eq!(&d.random, b"1205899eaf019bbd");
    assert_eq!(d.message, V1_MSG);
    assert_eq!(d.message.len(), 292);
    assert_eq!(d.appid, "wx134c8103faa5a59e");
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{V1_ENCRYPT}]]></Encrypt></xml>"
    );
    assert_eq!(
        c.open(
            "6c12a4205838198b8fa631b3220723bb07f1015c",
            "1715943329",
            "1590219412",
            &body
        )
        .unwrap(),
        d
    );
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
    assert_eq!(
        msg_signature("AAAAA", "1713424427", "415670741", &encrypt),
        "03e0812039325c2712ef5f0f980fd14c70d6e307"
    );
}

#[test]
fn v2_official_sample_decrypts() {
    let encrypt = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
    let c = MsgCrypt::new(
        "spamtest",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "wx2c2769f8efd9abc2",
    )
    .unwrap();
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
    assert!(d.message.contains("<Content><![CDATA[abcdteT]]></Content>"));
    assert!(
        d.message
            .starts_with("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n")
    );
}

#[test]
fn v3_wxjava_deterministic_encrypt() {
    let c = MsgCrypt::new(
        "pamtest",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "wxb11529c136998cb6",
    )
    .unwrap();
    let encrypt = c.encrypt_with_random("我是中文abcd123", *b"aaaabbbbccccdddd");
    assert_eq!(
        encrypt,
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    );
    assert_eq!(
        msg_signature("pamtest", "1409304348", "xxxxxx", &encrypt),
        "82c962d39941aa48552f90ef55aa323dc620cc10"
    );
    assert_eq!(c.decrypt(&encrypt).unwrap().message, "我是中文abcd123");
}

#[test]
fn v5_wechatpy_key_round_trips() {
    // wechatpy's vectors use this key and corp id; their ciphertexts are not in
    // protocol.md, so this checks the key decodes and round-trips.
    let c = MsgCrypt::new(
        "123456",
        "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
        "wx49f0ab532d5d035a",
    )
    .unwrap();
    let e = c.encrypt("<xml>hi</xml>");
    assert_eq!(c.decrypt(&e).unwrap().message, "<xml>hi</xml>");
}

#[test]
fn malformed_inputs_are_typed_errors() {
    let c = v1();
    assert_eq!(
        c.verify_signature(
            "0000000000000000000000000000000000000000",
            "1715943329",
            "1590219412",
            V1_ENCRYPT
        ),
        Err(CryptError::InvalidSignature)
    );
    assert_eq!(
        c.verify_signature("zz", "1", "2", "x"),
        Err(CryptError::InvalidSignature)
    );
    assert_eq!(c.decrypt("not base64!!").unwrap_err(), CryptError::Base64);
    assert_eq!(
        c.decrypt("").unwrap_err(),
        CryptError::InvalidCiphertextLength(0)
    );
    // Truncated: drop 7 characters, re-pad base64 to keep it decodable.
    let raw = STANDARD.decode(V1_ENCRYPT).unwrap();
    let truncated = STANDARD.encode(&raw[..raw.len() - 5]);
    assert!(matches!(
        c.decrypt(&truncated),
        Err(CryptError::InvalidCiphertextLength(_))
    ));
    let one_block_short = STANDARD.encode(&raw[..raw.len() - 16]);
    assert!(c.decrypt(&one_block_short).is_err());
    let other = MsgCrypt::new("AAAAA", &"A".repeat(43), "wx0000000000000000").unwrap();
    assert_eq!(other.decrypt(V1_ENCRYPT).unwrap_err().code(), -40005);
    assert_eq!(c.open("x", "1", "2", "not xml").unwrap_err().code(), -40002);
    assert_eq!(
        c.open("x", "1", "2", "<xml><A>1</A></xml>")
            .unwrap_err()
            .code(),
        -40002
    );
    for key in ["short", &"A".repeat(44), &format!("{}!", "A".repeat(42))] {
        assert_eq!(
            MsgCrypt::new("t", key, "wx").unwrap_err(),
            CryptError::InvalidAesKey
        );
    }
}

#[test]
fn bad_padding_bytes_are_rejected() {
    let key = AesKey::parse(&"A".repeat(43)).unwrap();
    for pad in [0u8, 33, 200] {
        // Encrypt a block whose last byte is `pad` with no padding of our own.
        let mut plain = vec![7u8; 32];
        plain[31] = pad;
        let mut enc = cbc::Encryptor::<Aes256>::new(&key.0.into(), &key.iv().into());
        for chunk in plain.chunks_exact_mut(16) {
            let mut block = Array::try_from(&*chunk).unwrap();
            enc.encrypt_block(&mut block);
            chunk.copy_from_slice(&block);
        }
        assert_eq!(
            key.decrypt(plain),
            Err(CryptError::InvalidPadding),
            "pad {pad}"
        );
    }
}

#[test]
fn previous_key_still_opens_during_rotation() {
    let old = MsgCrypt::new("t", &"B".repeat(43), "wx1").unwrap();
    let rotated = MsgCrypt::new("t", &"C".repeat(43), "wx1")
        .unwrap()
        .with_previous_key(&"B".repeat(43))
        .unwrap();
    let e = old.encrypt("hello");
    assert_eq!(rotated.decrypt(&e).unwrap().message, "hello");
    assert!(
        MsgCrypt::new("t", &"C".repeat(43), "wx1")
            .unwrap()
            .decrypt(&e)
            .is_err()
    );
}

#[test]
fn round_trips_and_garbage_never_panics() {
    let c = v1();
    let mut rng = rand::rng();
    for len in 0..200usize {
        let msg: String = (0..len)
            .map(|i| char::from(b'a' + ((i * 7 + len) % 26) as u8))
            .collect();
        let e = c.encrypt(&msg);
        assert_eq!(c.decrypt(&e).unwrap().message, msg);
        let (body, sig) = c.seal_push(Some(("AppId", "wx134c8103faa5a59e")), &msg, "1", "2");
        assert_eq!(c.open(&sig, "1", "2", &body).unwrap().message, msg);
    }
    for len in 0..300usize {
        let mut junk = vec![0u8; len];
        rng.fill_bytes(&mut junk);
        let _ = c.decrypt(&STANDARD.encode(&junk));
        let _ = c.open("x", "1", "2", &String::from_utf8_lossy(&junk));
    }
}
