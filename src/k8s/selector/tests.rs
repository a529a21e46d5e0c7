//! Label selector tests, most of them ported from upstream
//! `k8s.io/apimachinery/pkg/labels/selector_test.go`.

use std::collections::HashMap;

use super::parse::{Context, END, Lexer, Parser, Token};
use super::*;

/// Label pairs as written in a test table.
type Pairs<'a> = &'a [(&'a str, &'a str)];

/// A label set, like upstream's `labels.Set`.
fn set<'a>(pairs: &[(&'a str, &'a str)]) -> HashMap<&'a str, &'a str> {
    pairs.iter().copied().collect()
}

fn matches(selector: &Selector, labels: &HashMap<&str, &str>) -> bool {
    selector.matches(|key| labels.get(key).copied())
}

fn parse_ok(input: &str) -> Selector {
    Selector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn parse_err(input: &str) -> SelectorError {
    match Selector::parse(input) {
        Ok(selector) => panic!("{input:?} parsed as {selector}"),
        Err(error) => error,
    }
}

/// Upstream `getRequirement`: `NewRequirement` with a `sets.String`.
fn req(key: &str, op: Op, values: &[&str]) -> Requirement {
    let values = values.iter().map(|v| (*v).to_owned()).collect();
    Requirement::new(key, op, values).unwrap_or_else(|e| panic!("{key} {op:?}: {e}"))
}

fn selector(requirements: Vec<Requirement>) -> Selector {
    Selector { requirements }
}

fn lex_all(input: &str) -> Vec<Token> {
    let mut lexer = Lexer::new(input);
    let mut tokens = Vec::new();
    loop {
        let item = lexer.lex();
        if item.token == Token::EndOfString {
            return tokens;
        }
        tokens.push(item.token);
    }
}

/// Upstream `TestSelectorParse`: good strings restring to themselves
/// without spaces; bad strings fail.
#[test]
fn upstream_test_selector_parse() {
    let good = [
        "x=a,y=b,z=c",
        "",
        "x!=a,y=b",
        "x=",
        "x= ",
        "x=,z= ",
        "x= ,z= ",
        "!x",
        "x>1",
        "x>1,z<5",
    ];
    for input in good {
        let selector = parse_ok(input);
        assert_eq!(selector.to_string(), input.replace(' ', ""), "{input:?}");
    }
    for input in ["x=a||y=b", "x==a==b", "!x=a", "x<a"] {
        parse_err(input);
    }
}

/// Upstream `TestDeterministicParse`.
#[test]
fn upstream_test_deterministic_parse() {
    let first = parse_ok("x=a,a=x");
    let second = parse_ok("a=x,x=a");
    assert_eq!(first.to_string(), second.to_string());
    assert_eq!(first, second);
    assert_eq!(first.to_string(), "a=x,x=a");
}

/// Upstream `TestEverything` (and `TestSetIsEmpty` for `NewSelector`).
#[test]
fn upstream_test_everything() {
    let everything = Selector::everything();
    assert!(matches(&everything, &set(&[("x", "y")])));
    assert!(matches(&everything, &set(&[])));
    assert!(everything.is_empty());
    assert_eq!(everything.to_string(), "");
    assert_eq!(parse_ok(""), everything);
    assert_eq!(parse_ok(" \t\r\n "), everything);
    assert_eq!("".parse::<Selector>(), Ok(everything));
    assert!(!parse_ok("x").is_empty());
}

/// Upstream `TestSelectorMatches`.
#[test]
fn upstream_test_selector_matches() {
    let cases: &[(&str, Pairs<'_>, bool)] = &[
        ("", &[("x", "y")], true),
        ("x=y", &[("x", "y")], true),
        ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
        ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
        ("notin=in", &[("notin", "in")], true), // in and notin in exactMatch
        ("x", &[("x", "z")], true),
        ("!x", &[("y", "z")], true),
        ("x>1", &[("x", "2")], true),
        ("x<1", &[("x", "0")], true),
        ("x=z", &[], false),
        ("x=y", &[("x", "z")], false),
        ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
        ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
        ("x", &[("y", "z")], false),
        ("!x", &[("x", "z")], false),
        ("x>1", &[("x", "0")], false),
        ("x<1", &[("x", "2")], false),
    ];
    for &(input, labels, want) in cases {
        assert_eq!(
            matches(&parse_ok(input), &set(labels)),
            want,
            "{input:?} vs {labels:?}"
        );
    }
    let labels = set(&[("foo", "bar"), ("baz", "blah")]);
    for (input, want) in [
        ("foo=bar", true),
        ("baz=blah", true),
        ("foo=bar,baz=blah", true),
        ("foo=blah", false),
        ("baz=bar", false),
        ("foo=bar,foobar=bar,baz=blah", false),
    ] {
        assert_eq!(matches(&parse_ok(input), &labels), want, "{input:?}");
    }
}

/// Upstream `TestLexer`.
#[test]
fn upstream_test_lexer() {
    let cases: &[(&str, Token)] = &[
        ("", Token::EndOfString),
        (",", Token::Comma),
        ("notin", Token::NotIn),
        ("in", Token::In),
        ("=", Token::Equals),
        ("==", Token::DoubleEquals),
        (">", Token::GreaterThan),
        ("<", Token::LessThan),
        // Note that Lex returns the longest valid token found
        ("!", Token::DoesNotExist),
        ("!=", Token::NotEquals),
        ("(", Token::OpenPar),
        (")", Token::ClosedPar),
        // Non-"special" characters are considered part of an identifier
        ("~", Token::Identifier),
        ("||", Token::Identifier),
    ];
    for &(input, token) in cases {
        let item = Lexer::new(input).lex();
        assert_eq!(item.token, token, "{input:?}");
        assert_eq!(item.literal, input, "{input:?}");
    }
}

/// Upstream `TestLexerSequence`.
#[test]
fn upstream_test_lexer_sequence() {
    use Token::*;
    let cases: &[(&str, &[Token])] = &[
        (
            "key in ( value )",
            &[Identifier, In, OpenPar, Identifier, ClosedPar],
        ),
        (
            "key notin ( value )",
            &[Identifier, NotIn, OpenPar, Identifier, ClosedPar],
        ),
        (
            "key in ( value1, value2 )",
            &[
                Identifier, In, OpenPar, Identifier, Comma, Identifier, ClosedPar,
            ],
        ),
        ("key", &[Identifier]),
        ("!key", &[DoesNotExist, Identifier]),
        ("()", &[OpenPar, ClosedPar]),
        (
            "x in (),y",
            &[Identifier, In, OpenPar, ClosedPar, Comma, Identifier],
        ),
        (
            "== != (), = notin",
            &[
                DoubleEquals,
                NotEquals,
                OpenPar,
                ClosedPar,
                Comma,
                Equals,
                NotIn,
            ],
        ),
        ("key>2", &[Identifier, GreaterThan, Identifier]),
        ("key<1", &[Identifier, LessThan, Identifier]),
    ];
    for &(input, tokens) in cases {
        assert_eq!(lex_all(input), tokens, "{input:?}");
    }
}

/// Longest-match behaviour of upstream `scanSpecialSymbol`.
#[test]
fn lexer_special_symbol_runs() {
    use Token::*;
    let cases: &[(&str, &[Token])] = &[
        ("===", &[DoubleEquals, Equals]),
        ("!==", &[NotEquals, Equals]),
        ("!!", &[DoesNotExist, DoesNotExist]),
        ("=!", &[Equals, DoesNotExist]),
        ("!(", &[DoesNotExist, OpenPar]),
        ("><", &[GreaterThan, LessThan]),
        (">=", &[GreaterThan, Equals]),
        ("((", &[OpenPar, OpenPar]),
        ("a=b", &[Identifier, Equals, Identifier]),
        ("in in", &[In, In]),
        ("inx", &[Identifier]),
        ("IN", &[Identifier]),
        ("é=ü", &[Identifier, Equals, Identifier]),
    ];
    for &(input, tokens) in cases {
        assert_eq!(lex_all(input), tokens, "{input:?}");
    }
    let mut lexer = Lexer::new(" \tkey\r\n!=\nvalue ");
    assert_eq!(lexer.lex().literal, "key");
    assert_eq!(lexer.lex().literal, "!=");
    assert_eq!(lexer.lex().literal, "value");
    assert_eq!(lexer.lex(), END);
    assert_eq!(lexer.lex(), END);
}

/// Upstream `TestParserLookahead`.
#[test]
fn upstream_test_parser_lookahead() {
    use Token::*;
    let cases: &[(&str, &[Token])] = &[
        (
            "key in ( value )",
            &[Identifier, In, OpenPar, Identifier, ClosedPar, EndOfString],
        ),
        (
            "key notin ( value )",
            &[
                Identifier,
                NotIn,
                OpenPar,
                Identifier,
                ClosedPar,
                EndOfString,
            ],
        ),
        (
            "key in ( value1, value2 )",
            &[
                Identifier,
                In,
                OpenPar,
                Identifier,
                Comma,
                Identifier,
                ClosedPar,
                EndOfString,
            ],
        ),
        ("key", &[Identifier, EndOfString]),
        ("!key", &[DoesNotExist, Identifier, EndOfString]),
        ("()", &[OpenPar, ClosedPar, EndOfString]),
        ("", &[EndOfString]),
        (
            "x in (),y",
            &[
                Identifier,
                In,
                OpenPar,
                ClosedPar,
                Comma,
                Identifier,
                EndOfString,
            ],
        ),
        (
            "== != (), = notin",
            &[
                DoubleEquals,
                NotEquals,
                OpenPar,
                ClosedPar,
                Comma,
                Equals,
                NotIn,
                EndOfString,
            ],
        ),
        ("key>2", &[Identifier, GreaterThan, Identifier, EndOfString]),
        ("key<1", &[Identifier, LessThan, Identifier, EndOfString]),
    ];
    for &(input, tokens) in cases {
        let mut parser = Parser::new(input);
        let scanned: Vec<Token> = parser.items.iter().map(|item| item.token).collect();
        assert_eq!(scanned, tokens, "{input:?}");
        loop {
            let ahead = parser.lookahead(Context::KeyAndOperator);
            let consumed = parser.consume(Context::KeyAndOperator);
            assert_eq!(ahead, consumed, "{input:?}");
            if ahead.token == EndOfString {
                break;
            }
        }
        // Past the end the parser keeps answering end-of-string.
        assert_eq!(parser.consume(Context::Values), END);
        assert_eq!(parser.lookahead(Context::Values), END);
    }
    // In the Values context, in/notin are identifiers.
    let parser = Parser::new("notin");
    assert_eq!(parser.lookahead(Context::Values).token, Identifier);
    assert_eq!(parser.lookahead(Context::KeyAndOperator).token, NotIn);
}

/// Upstream `TestParseOperator`.
#[test]
fn upstream_test_parse_operator() {
    let expected = "in, notin, =, ==, !=, gt, lt";
    for input in ["in", "=", "==", ">", "<", "notin", "!="] {
        assert!(Parser::new(input).parse_operator().is_ok(), "{input:?}");
    }
    for (input, found) in [("!", "!"), ("exists", "exists"), ("(", "(")] {
        assert_eq!(
            Parser::new(input).parse_operator(),
            Err(SelectorError::InvalidSyntax {
                found: found.to_owned(),
                expected
            }),
            "{input:?}"
        );
    }
}

/// Upstream `TestRequirementConstructor`, with the error messages of its
/// current version (the unsupported-operator row has no Rust
/// counterpart: operators are an enum).
#[test]
fn upstream_test_requirement_constructor() {
    let long_value = "a".repeat(254);
    let cases: Vec<(String, Op, Vec<&str>, Option<String>)> = vec![
        ("x1".into(), Op::In, vec![], Some(
            "unable to parse requirement: values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty".into(),
        )),
        ("x2".into(), Op::NotIn, vec![], Some(
            "unable to parse requirement: values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty".into(),
        )),
        ("x3".into(), Op::In, vec!["foo"], None),
        ("x4".into(), Op::NotIn, vec!["foo"], None),
        ("x5".into(), Op::Equals, vec!["foo", "bar"], Some(
            "unable to parse requirement: values: Invalid value: []string{\"bar\", \"foo\"}: exact-match compatibility requires one single value".into(),
        )),
        ("x6".into(), Op::Exists, vec![], None),
        ("x7".into(), Op::DoesNotExist, vec![], None),
        ("x8".into(), Op::Exists, vec!["foo"], Some(
            "unable to parse requirement: values: Invalid value: []string{\"foo\"}: values set must be empty for exists and does not exist".into(),
        )),
        ("x9".into(), Op::In, vec!["bar"], None),
        ("x10".into(), Op::In, vec!["bar"], None),
        ("x11".into(), Op::GreaterThan, vec!["1"], None),
        ("x12".into(), Op::LessThan, vec!["6"], None),
        ("x13".into(), Op::GreaterThan, vec![], Some(
            "unable to parse requirement: values: Invalid value: []string{}: for 'Gt', 'Lt' operators, exactly one value is required".into(),
        )),
        ("x14".into(), Op::GreaterThan, vec!["bar"], Some(
            "unable to parse requirement: values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        )),
        ("x15".into(), Op::LessThan, vec!["bar"], Some(
            "unable to parse requirement: values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        )),
        // breaks DNS rule that len(key) <= 253 (and the 63-byte name rule)
        ("a".repeat(254), Op::Exists, vec![], Some(format!(
            "unable to parse requirement: key: Invalid value: \"{}\": name part must be no more than 63 bytes",
            "a".repeat(254)
        ))),
        ("x16".into(), Op::Equals, vec![&long_value], Some(format!(
            "unable to parse requirement: values[0][x16]: Invalid value: \"{long_value}\": must be no more than 63 bytes"
        ))),
        ("x17".into(), Op::Equals, vec!["a b"], Some(
            "unable to parse requirement: values[0][x17]: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".into(),
        )),
        // Older upstream rows.
        ("1foo".into(), Op::In, vec!["bar"], None),
        ("1234".into(), Op::In, vec!["bar"], None),
        ("y".into(), Op::GreaterThan, vec!["1"], None),
        ("z".into(), Op::LessThan, vec!["6"], None),
    ];
    for (key, op, values, want) in cases {
        let values: BTreeSet<String> = values.into_iter().map(str::to_owned).collect();
        let got = Requirement::new(&key, op, values).map_err(|e| e.to_string());
        match want {
            None => assert!(got.is_ok(), "{key} {op:?}: {got:?}"),
            Some(message) => assert_eq!(got, Err(message), "{key} {op:?}"),
        }
    }
}

/// Upstream `TestToString`.
#[test]
fn upstream_test_to_string() {
    let cases = vec![
        (
            vec![
                req("x", Op::In, &["abc", "def"]),
                req("y", Op::NotIn, &["jkl"]),
                req("z", Op::Exists, &[]),
            ],
            "x in (abc,def),y notin (jkl),z",
        ),
        (
            vec![
                req("x", Op::NotIn, &["abc", "def"]),
                req("y", Op::NotEquals, &["jkl"]),
                req("z", Op::DoesNotExist, &[]),
            ],
            "x notin (abc,def),y!=jkl,!z",
        ),
        (
            vec![
                req("x", Op::NotIn, &["abc"]),
                req("y", Op::In, &["jkl", "mno"]),
                req("z", Op::NotIn, &[""]),
            ],
            "x notin (abc),y in (jkl,mno),z notin ()",
        ),
        (
            vec![
                req("x", Op::Equals, &["abc"]),
                req("y", Op::DoubleEquals, &["jkl"]),
                req("z", Op::NotEquals, &["a"]),
                req("z", Op::Exists, &[]),
            ],
            "x=abc,y==jkl,z!=a,z",
        ),
        (
            vec![
                req("x", Op::GreaterThan, &["2"]),
                req("y", Op::LessThan, &["8"]),
                req("z", Op::Exists, &[]),
            ],
            "x>2,y<8,z",
        ),
    ];
    for (requirements, want) in cases {
        let built = selector(requirements);
        assert_eq!(built.to_string(), want);
        // The canonical form parses back to the same selector.
        assert_eq!(parse_ok(want), built, "{want}");
    }
}

/// Upstream `TestRequirementSelectorMatching` (the row with an invalid
/// zero `Requirement` has no counterpart).
#[test]
fn upstream_test_requirement_selector_matching() {
    let cases: Vec<(Pairs<'_>, Vec<Requirement>, bool)> = vec![
        (
            &[("x", "foo"), ("y", "baz")],
            vec![req("x", Op::In, &["foo"]), req("y", Op::NotIn, &["alpha"])],
            true,
        ),
        (
            &[("x", "foo"), ("y", "baz")],
            vec![req("x", Op::In, &["foo"]), req("y", Op::In, &["alpha"])],
            false,
        ),
        (
            &[("y", "")],
            vec![req("x", Op::NotIn, &[""]), req("y", Op::Exists, &[])],
            true,
        ),
        (
            &[("y", "")],
            vec![req("x", Op::DoesNotExist, &[]), req("y", Op::Exists, &[])],
            true,
        ),
        (
            &[("y", "")],
            vec![req("x", Op::NotIn, &[""]), req("y", Op::DoesNotExist, &[])],
            false,
        ),
        (&[("y", "baz")], vec![req("x", Op::In, &[""])], false),
        (&[("z", "2")], vec![req("z", Op::GreaterThan, &["1"])], true),
        (
            &[("z", "v2")],
            vec![req("z", Op::GreaterThan, &["1"])],
            false,
        ),
    ];
    for (labels, requirements, want) in cases {
        let built = selector(requirements);
        assert_eq!(matches(&built, &set(labels)), want, "{built} vs {labels:?}");
    }
}

/// Upstream `TestSetSelectorParser`: the parsed requirements, or an
/// error for invalid rows.
#[test]
fn upstream_test_set_selector_parser() {
    let valid: Vec<(&str, Option<Vec<Requirement>>)> = vec![
        ("", Some(vec![])),
        ("\rx", Some(vec![req("x", Op::Exists, &[])])),
        (
            "this-is-a-dns.domain.com/key-with-dash",
            Some(vec![req(
                "this-is-a-dns.domain.com/key-with-dash",
                Op::Exists,
                &[],
            )]),
        ),
        (
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            Some(vec![req(
                "this-is-another-dns.domain.com/key-with-dash",
                Op::In,
                &["so", "what"],
            )]),
        ),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            Some(vec![req(
                "0.1.2.domain/99",
                Op::NotIn,
                &["10.10.100.1", "tick.tack.clock"],
            )]),
        ),
        ("foo  in\t (abc)", Some(vec![req("foo", Op::In, &["abc"])])),
        ("x notin\n (abc)", Some(vec![req("x", Op::NotIn, &["abc"])])),
        (
            "x  notin\t\t\t(abc,def)",
            Some(vec![req("x", Op::NotIn, &["abc", "def"])]),
        ),
        (
            "x in (abc,def)",
            Some(vec![req("x", Op::In, &["abc", "def"])]),
        ),
        ("x in (abc,)", Some(vec![req("x", Op::In, &["abc", ""])])),
        ("x in ()", Some(vec![req("x", Op::In, &[""])])),
        (
            "x notin (abc,,def),bar,z in (),w",
            Some(vec![
                req("bar", Op::Exists, &[]),
                req("w", Op::Exists, &[]),
                req("x", Op::NotIn, &["abc", "", "def"]),
                req("z", Op::In, &[""]),
            ]),
        ),
        ("x,y in (a)", None), // valid; upstream does not compare the output
        ("x=a", Some(vec![req("x", Op::Equals, &["a"])])),
        ("x>1", Some(vec![req("x", Op::GreaterThan, &["1"])])),
        ("x<7", Some(vec![req("x", Op::LessThan, &["7"])])),
        (
            "x=a,y!=b",
            Some(vec![
                req("x", Op::Equals, &["a"]),
                req("y", Op::NotEquals, &["b"]),
            ]),
        ),
        (
            "x=a,y!=b,z in (h,i,j)",
            Some(vec![
                req("x", Op::Equals, &["a"]),
                req("y", Op::NotEquals, &["b"]),
                req("z", Op::In, &["h", "i", "j"]),
            ]),
        ),
        ("x notin ( )", Some(vec![req("x", Op::NotIn, &[""])])),
        ("x notin (, a)", Some(vec![req("x", Op::NotIn, &["", "a"])])),
        ("a ", Some(vec![req("a", Op::Exists, &[])])),
        (
            "a in (x,y,notin, z,in)",
            Some(vec![req("a", Op::In, &["in", "notin", "x", "y", "z"])]),
        ), // operator 'in' inside list of identifiers
    ];
    for (input, want) in valid {
        let parsed = parse_ok(input);
        if let Some(requirements) = want {
            assert_eq!(parsed, selector(requirements), "{input:?}");
        }
        // Display is canonical: it parses back to the same selector.
        assert_eq!(parse_ok(&parsed.to_string()), parsed, "{input:?}");
    }
    let invalid = [
        "x=a||y=b",
        "x,,y",
        ",x,y",
        "x nott in (y)",
        "a in (xyz),",
        "a in (xyz)b notin ()",
        "a in (xyz abc)", // no comma
        "a notin(",       // bad formed
        "a (",            // cpar
        "(",              // opar
    ];
    for input in invalid {
        parse_err(input);
    }
}

/// The exact error for each way upstream's parser can fail.
#[test]
fn parse_error_messages() {
    let name_regex = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    let value_regex = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    let cases: Vec<(&str, String)> = vec![
        (",x", "found ',', expected: !, identifier, or 'end of string'".into()),
        (")", "found ')', expected: !, identifier, or 'end of string'".into()),
        ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
        ("x,", "found '', expected: identifier after ','".into()),
        ("x,,y", "found ',', expected: identifier after ','".into()),
        ("x, =", "found '=', expected: identifier after ','".into()),
        ("x=a b", "found 'b', expected: ',' or 'end of string'".into()),
        ("x==a==b", "found '==', expected: ',' or 'end of string'".into()),
        ("!x=a", "found '=', expected: ',' or 'end of string'".into()),
        ("a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'".into()),
        ("!", "unable to parse requirement: found '', expected: identifier".into()),
        ("!!x", "unable to parse requirement: found '!', expected: identifier".into()),
        ("! =", "unable to parse requirement: found '=', expected: identifier".into()),
        ("x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt".into()),
        ("x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt".into()),
        ("x (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt".into()),
        ("x !", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt".into()),
        ("x in", "unable to parse requirement: found '', expected: '('".into()),
        ("x in in", "unable to parse requirement: found 'in', expected: '('".into()),
        ("x notin a", "unable to parse requirement: found 'a', expected: '('".into()),
        ("a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier".into()),
        ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier".into()),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'".into()),
        ("x in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'".into()),
        ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier".into()),
        ("x in (,,)", "unable to parse requirement: found ')', expected: ',', or identifier".into()),
        ("x in (a,", "unable to parse requirement: found '', expected: ',', or identifier".into()),
        ("x=(", "unable to parse requirement: found '(', expected: identifier".into()),
        ("x==!", "unable to parse requirement: found '!', expected: identifier".into()),
        ("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
        ("x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
        ("x>1.5", "unable to parse requirement: values[0]: Invalid value: \"1.5\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
        ("x>9223372036854775808", "unable to parse requirement: values[0]: Invalid value: \"9223372036854775808\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
        // ParseInt accepts a sign, but the label value rules do not.
        ("x>-1", format!("unable to parse requirement: values[0][x]: Invalid value: \"-1\": {value_regex}")),
        ("x<+1", format!("unable to parse requirement: values[0][x]: Invalid value: \"+1\": {value_regex}")),
        ("x=a||y", format!("unable to parse requirement: values[0][x]: Invalid value: \"a||y\": {value_regex}")),
        ("x in (b, a_)", format!("unable to parse requirement: values[0][x]: Invalid value: \"a_\": {value_regex}")),
        ("x in (a, b_)", format!("unable to parse requirement: values[1][x]: Invalid value: \"b_\": {value_regex}")),
        ("x=-a", format!("unable to parse requirement: values[0][x]: Invalid value: \"-a\": {value_regex}")),
        (
            "x=é",
            format!("unable to parse requirement: values[0][x]: Invalid value: \"é\": {value_regex}"),
        ),
        (
            "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-",
            format!(
                "unable to parse requirement: values[0][x]: Invalid value: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-\": must be no more than 63 bytes; {value_regex}"
            ),
        ),
        ("-x", format!("unable to parse requirement: key: Invalid value: \"-x\": {name_regex}")),
        ("x_=a", format!("unable to parse requirement: key: Invalid value: \"x_\": {name_regex}")),
        ("x/", format!("unable to parse requirement: key: Invalid value: \"x/\": name part must be non-empty; {name_regex}")),
        ("/x", "unable to parse requirement: key: Invalid value: \"/x\": prefix part must be non-empty".into()),
        (
            "Example.com/x",
            "unable to parse requirement: key: Invalid value: \"Example.com/x\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into(),
        ),
        (
            "a/b/c",
            "unable to parse requirement: key: Invalid value: \"a/b/c\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".into(),
        ),
        // The key is validated before the rest of the requirement.
        ("x/ in (", format!("unable to parse requirement: key: Invalid value: \"x/\": name part must be non-empty; {name_regex}")),
    ];
    for (input, want) in cases {
        assert_eq!(parse_err(input).to_string(), want, "{input:?}");
    }
}

#[test]
fn error_variants() {
    assert_eq!(
        parse_err("x=a b"),
        SelectorError::UnexpectedToken {
            found: "b".into(),
            expected: "',' or 'end of string'"
        }
    );
    assert_eq!(
        parse_err("x in"),
        SelectorError::InvalidSyntax {
            found: String::new(),
            expected: "'('"
        }
    );
    assert_eq!(
        parse_err("x>y"),
        SelectorError::NotAnInteger {
            index: 0,
            value: "y".into()
        }
    );
    assert!(
        matches!(parse_err("x=y_"), SelectorError::InvalidValue { ref key, index: 0, ref value, .. } if key == "x" && value == "y_")
    );
    assert!(
        matches!(parse_err("X./y"), SelectorError::InvalidKey { ref key, .. } if key == "X./y")
    );
}

#[test]
fn matching_semantics() {
    let labels = set(&[
        ("app", "web"),
        ("tier", "front"),
        ("n", "10"),
        ("neg", "-5"),
        ("plus", "+7"),
        ("text", "ten"),
        ("empty", ""),
    ]);
    let cases: &[(&str, bool)] = &[
        ("app=web", true),
        ("app==web", true),
        ("app!=web", false),
        ("app!=db", true),
        ("missing!=x", true), // != matches an absent label
        ("missing=x", false),
        ("missing==x", false),
        ("app in (web,db)", true),
        ("app in (db)", false),
        ("missing in (x)", false),
        ("app notin (web)", false),
        ("app notin (db)", true),
        ("missing notin (x)", true), // notin matches an absent label
        ("app", true),
        ("missing", false),
        ("!app", false),
        ("!missing", true),
        ("empty", true),
        ("empty=", true),
        ("empty in ()", true),
        ("empty!=", false),
        ("app=", false),
        ("missing=", false),
        ("missing notin ()", true),
        ("n>9", true),
        ("n>10", false),
        ("n<11", true),
        ("n<10", false),
        ("n>009", true),
        ("neg<0", true), // label values are parsed as int64, sign included
        ("neg>0", false),
        ("plus>6", true),
        ("text>0", false), // not an integer: no match
        ("text<99999", false),
        ("empty>-0", false),
        ("missing>0", false),
        ("missing<0", false),
        ("app=web,tier=front,n>1", true),
        ("app=web,tier=back", false),
        ("app=web,!missing,missing notin (a),n<100", true),
    ];
    for &(input, want) in cases {
        let parsed = Selector::parse(input);
        // "neg<0" etc. need values that are valid labels; "empty>-0" is
        // invalid as a selector and only checks that parsing rejects it.
        match parsed {
            Ok(selector) => assert_eq!(matches(&selector, &labels), want, "{input:?}"),
            Err(error) => assert!(!want, "{input:?}: {error}"),
        }
    }
    // Integer bounds are int64, as strconv.ParseInt(…, 10, 64).
    let big = set(&[("n", "9223372036854775807"), ("m", "9223372036854775808")]);
    assert!(matches(&parse_ok("n>9223372036854775806"), &big));
    assert!(!matches(&parse_ok("m>1"), &big));
    assert!(!matches(&parse_ok("m<1"), &big));
}

#[test]
fn matches_works_with_owned_maps_and_closures() {
    let owned: HashMap<String, String> =
        [("app".to_owned(), "web".to_owned())].into_iter().collect();
    let selector = parse_ok("app in (web, db), !canary");
    assert!(selector.matches(|key| owned.get(key).map(String::as_str)));
    assert!(!selector.matches(|_| None));
    assert!(Selector::everything().matches(|_| None));
    // Each requirement asks for its own key.
    let asked = std::cell::RefCell::new(Vec::new());
    parse_ok("b=1,a=2").matches(|key| {
        asked.borrow_mut().push(key.to_owned());
        Some("2")
    });
    assert_eq!(asked.into_inner(), vec!["a".to_owned(), "b".to_owned()]);
}

#[test]
fn display_is_canonical() {
    let cases: &[(&str, &str)] = &[
        ("  b = 1 ,  a  in ( z , y , z )  ", "a in (y,z),b=1"),
        ("x notin (b,a,)", "x notin (,a,b)"),
        ("x notin (b,,a)", "x notin (,a,b)"),
        ("x in (,)", "x in ()"),
        ("x==a", "x==a"),
        ("!x, y", "!x,y"),
        ("x > 10, x < 20", "x>10,x<20"),
        ("x>007", "x>007"),
        ("in=notin", "in=notin"),
        ("z,y,x", "x,y,z"),
        ("x!=a,x", "x!=a,x"), // stable for equal keys
        ("x,x!=a", "x,x!=a"),
    ];
    for &(input, want) in cases {
        let parsed = parse_ok(input);
        assert_eq!(parsed.to_string(), want, "{input:?}");
        assert_eq!(parse_ok(want), parsed, "{input:?}");
    }
}

/// A NUL byte does not end the input (upstream would ignore the rest).
#[test]
fn nul_byte_is_not_end_of_input() {
    assert!(Selector::parse("x=a\u{0},garbage((").is_err());
    assert!(Selector::parse("x\u{0}").is_err());
    assert!(Selector::parse("\u{0}").is_err());
}

#[test]
fn parse_never_panics_on_arbitrary_input() {
    let alphabet: Vec<&str> = vec![
        "a",
        "b",
        "x",
        "in",
        "notin",
        "=",
        "==",
        "!",
        "!=",
        "(",
        ")",
        ",",
        ">",
        "<",
        " ",
        "\t",
        "1",
        "-",
        "/",
        ".",
        "_",
        "é",
        "\u{0}",
        "\u{10ffff}",
        "k8s.io/",
        "9223372036854775808",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let labels = set(&[("a", "1"), ("b", "x"), ("x", "-3")]);
    for _ in 0..50_000 {
        let len = (next() % 10) as usize;
        let input: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        if let Ok(parsed) = Selector::parse(&input) {
            let _ = matches(&parsed, &labels);
            // Round trip through the canonical form.
            let text = parsed.to_string();
            assert_eq!(
                Selector::parse(&text).as_ref(),
                Ok(&parsed),
                "{input:?} -> {text:?}"
            );
        }
    }
}

#[test]
fn from_str_matches_parse() {
    assert_eq!("x=a".parse::<Selector>(), Selector::parse("x=a"));
    assert_eq!(
        "x=".parse::<Selector>().map(|s| s.to_string()),
        Ok("x=".to_owned())
    );
    assert!("x=a=".parse::<Selector>().is_err());
}

#[test]
fn go_string_slice_formatting() {
    assert_eq!(go_string_slice(&[]), "[]string{}");
    assert_eq!(
        go_string_slice(&["a".into(), "b\"c".into()]),
        "[]string{\"a\", \"b\\\"c\"}"
    );
}
