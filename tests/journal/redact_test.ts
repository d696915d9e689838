import assert from "node:assert/strict";
import { Journal } from "../../lib/journal/journal.ts";
import { REDACTED, Redactor } from "../../lib/journal/redact.ts";

// The forms are computed here independently of lib/journal/redact.ts.
function base64Forms(secret: string): string[] {
  let binary = "";
  for (const b of new TextEncoder().encode(secret)) binary += String.fromCharCode(b);
  const std = btoa(binary);
  const url = std.replaceAll("+", "-").replaceAll("/", "_");
  return [std, std.replace(/=+$/, ""), url, url.replace(/=+$/, "")];
}

function urlForms(secret: string): string[] {
  return [encodeURIComponent(secret), new URLSearchParams({ v: secret }).toString().slice(2)];
}

function jsonEscaped(secret: string): string {
  return JSON.stringify(secret).slice(1, -1);
}

/** Every form in which the secret must never appear. */
function allForms(secret: string): string[] {
  return [
    ...new Set([secret, jsonEscaped(secret), ...base64Forms(secret), ...urlForms(secret)]),
  ];
}

function assertNoForm(text: string, secret: string): void {
  for (const form of allForms(secret)) {
    assert.ok(!text.includes(form), `${JSON.stringify(text)} contains ${JSON.stringify(form)}`);
  }
}

function redactorOf(...secrets: string[]): Redactor {
  const r = new Redactor();
  for (const s of secrets) r.add(s);
  return r;
}

/** A report-like structure holding the secret everywhere a stage could put it. */
function reportWith(secret: string): unknown {
  return {
    status: "failed",
    reason: `auth failed for ${secret}`,
    stages: [{
      id: "db",
      output: { dsn: `postgres://u:${secret}@db`, nested: [[secret], [[`x${secret}y`]]] },
      checks: [{ evidence: { password: secret, [`key:${secret}`]: 1 } }],
      log: `encoded ${encodeURIComponent(secret)} and ${base64Forms(secret)[0]}`,
    }],
  };
}

const TRICKY: Record<string, string> = {
  "a quote": 'pa"ss-word',
  "a backslash": "pa\\ss-word",
  "a newline": "pass\nword-1",
  "a tab": "pass\tword-1",
  "unicode": "pässwörd-密码-🔑",
  "quote, backslash and control characters": 'a"\\b\n\r\t\u0001c',
};

for (const [what, secret] of Object.entries(TRICKY)) {
  Deno.test(`Redactor.redactValue() redacts a secret with ${what} before serialization`, () => {
    const r = redactorOf(secret);
    const json = JSON.stringify(r.redactValue(reportWith(secret)));
    assertNoForm(json, secret);
    const back = JSON.parse(json);
    assert.equal(back.reason, `auth failed for ${REDACTED}`);
    assert.equal(back.stages[0].output.dsn, `postgres://u:${REDACTED}@db`);
    assert.deepEqual(back.stages[0].output.nested, [[REDACTED], [[`x${REDACTED}y`]]]);
    assert.deepEqual(back.stages[0].checks[0].evidence, {
      password: REDACTED,
      [`key:${REDACTED}`]: 1,
    });
    assert.equal(back.stages[0].log, `encoded ${REDACTED} and ${REDACTED}`);
  });

  Deno.test(`Redactor.redact() redacts the JSON-escaped form of a secret with ${what} in serialized JSON`, () => {
    const r = redactorOf(secret);
    const text = JSON.stringify({ type: "stage.log", message: `pw=${secret};` });
    assert.ok(text.includes(jsonEscaped(secret)));
    const out = r.redact(text);
    assertNoForm(out, secret);
    assert.deepEqual(JSON.parse(out), { type: "stage.log", message: `pw=${REDACTED};` });
  });
}

Deno.test("Redactor.redactValue() output would not have been safe with redaction after serialization", () => {
  // The defect being fixed: the raw form is not in the JSON text, only the escaped one.
  const secret = 'pa"ss-word';
  const json = JSON.stringify({ password: secret });
  assert.ok(!json.includes(secret));
  assert.ok(json.includes('pa\\"ss-word'));
  assert.equal(
    JSON.stringify(redactorOf(secret).redactValue({ password: secret })),
    '{"password":"[redacted]"}',
  );
});

Deno.test("Redactor.redact() redacts a secret inside JSON text kept as a string inside JSON", () => {
  const secret = 'pa"ss\\word';
  const inner = JSON.stringify({ password: secret });
  const outer = JSON.stringify({ type: "stage.output", text: inner });
  const out = redactorOf(secret).redact(outer);
  assertNoForm(out, secret);
  assert.deepEqual(JSON.parse(JSON.parse(out).text), { password: REDACTED });
});

Deno.test("Redactor.redact() redacts the base64 forms (standard, URL-safe, padded or not)", () => {
  const secret = "s3cr3t>>?~~~~"; // base64 with "+", "/" and padding
  const forms = base64Forms(secret);
  assert.match(forms[0]!, /[+/]/);
  assert.match(forms[0]!, /=$/);
  assert.match(forms[2]!, /[-_]/);
  assert.equal(new Set(forms).size, 4);
  const r = redactorOf(secret);
  for (const form of forms) {
    assert.equal(r.redact(`Authorization: Basic ${form}\n`), `Authorization: Basic ${REDACTED}\n`);
  }
  assertNoForm(r.redact(forms.join(" ")), secret);
});

Deno.test("Redactor.redact() redacts the base64 of the UTF-8 bytes of a unicode secret", () => {
  const secret = "pässwörd-🔑";
  const form = base64Forms(secret)[0]!;
  assert.equal(atob(form).length, new TextEncoder().encode(secret).length);
  assert.equal(redactorOf(secret).redact(`data: ${form}`), `data: ${REDACTED}`);
});

Deno.test("Redactor.redact() redacts the URL-encoded forms (encodeURIComponent, + for space, URL)", () => {
  const secret = "p@ss w/rd+&!'()é";
  const r = redactorOf(secret);
  const [component, form] = urlForms(secret);
  assert.notEqual(component, form);
  assert.ok(form!.includes("+"));
  assert.equal(r.redact(`?pw=${component}&x=1`), `?pw=${REDACTED}&x=1`);
  assert.equal(r.redact(`?pw=${form}&x=1`), `?pw=${REDACTED}&x=1`);
  assert.equal(r.redact(`?${new URLSearchParams({ pw: secret })}`), `?pw=${REDACTED}`);
  assert.equal(r.redact(`?pw=${component!.toLowerCase()}`), `?pw=${REDACTED}`);
  const u = new URL("postgres://db/tracktion");
  u.username = "tracktion";
  u.password = secret;
  assert.equal(r.redact(u.href), `postgres://tracktion:${REDACTED}@db/tracktion`);
  assertNoForm(r.redact(`${component} ${form} ${encodeURI(secret)}`), secret);
});

Deno.test("Redactor.redact() redacts a URL-encoded base64 form", () => {
  const secret = "s3cr3t>>?~~~~";
  const b64 = base64Forms(secret)[0]!;
  assert.equal(redactorOf(secret).redact(`?t=${encodeURIComponent(b64)}`), `?t=${REDACTED}`);
});

Deno.test("Redactor.add() accepts a secret of 1, 2 and 3 characters and redacts it", () => {
  for (const secret of ["k", "Zq", "q#Z"]) {
    const r = new Redactor();
    r.add(secret); // used to throw a RangeError
    assert.ok(r.size >= 1);
    assert.equal(r.redact(secret), REDACTED);
    assert.equal(r.redact(`pw=${secret};`), `pw=${REDACTED};`);
    assert.deepEqual(r.redactValue({ v: secret, n: [secret] }), { v: REDACTED, n: [REDACTED] });
  }
  assert.equal(redactorOf("q#Z").redact("x=q%23Z"), `x=${REDACTED}`);
});

Deno.test("Redactor.redact() leaves an existing [redacted] alone, so redacting twice is stable", () => {
  const r = redactorOf("a", "ed", "hunter2");
  const once = r.redact("a hunter2 red");
  assert.equal(once, `${REDACTED} ${REDACTED} r${REDACTED}`);
  assert.equal(r.redact(once), once);
  assert.equal(r.redact(r.redact(once)), once);
  const value = r.redactValue({ [REDACTED]: REDACTED });
  assert.deepEqual(r.redactValue(value), { [REDACTED]: REDACTED });
});

Deno.test("Redactor.redact() redacts a secret that overlaps a [redacted] already there", () => {
  const secret = "acted]-and-more";
  const out = redactorOf(secret).redact(`x[redacted]-and-more`);
  assert.ok(!out.includes(secret), out);
});

Deno.test("Redactor.redact() replaces the longer of two secrets when one is a prefix of the other", () => {
  for (const order of [["hunter2", "hunter2-extended"], ["hunter2-extended", "hunter2"]]) {
    const r = redactorOf(...order);
    assert.equal(r.redact("a hunter2-extended b hunter2 c"), `a ${REDACTED} b ${REDACTED} c`);
    const json = JSON.stringify(r.redactValue({ x: "hunter2-extended" }));
    assert.equal(json, '{"x":"[redacted]"}');
    assert.ok(!json.includes("-extended"));
  }
});

Deno.test("Redactor.redact() replaces overlapping occurrences of two secrets as one span", () => {
  const r = redactorOf("abcd-1", "d-1xyz");
  assert.equal(r.redact("0abcd-1xyz9"), `0${REDACTED}9`);
  assert.equal(r.redact("abcd-1abcd-1"), `${REDACTED}${REDACTED}`);
});

Deno.test("Redactor.redactValue() redacts object keys containing a secret", () => {
  const secret = 'k"ey-s3cret';
  const r = redactorOf(secret);
  const out = r.redactValue({ [secret]: 1, [`prefix-${secret}`]: { [secret]: secret } });
  assert.deepEqual(out, { [REDACTED]: 1, [`prefix-${REDACTED}`]: { [REDACTED]: REDACTED } });
  assertNoForm(JSON.stringify(out), secret);
});

Deno.test("Redactor.redactValue() redacts strings in nested arrays", () => {
  const secret = "s3cr3t-nested";
  const r = redactorOf(secret);
  const out = r.redactValue([secret, [secret, [secret, [{ deep: [secret] }]]], "plain"]);
  assert.deepEqual(out, [REDACTED, [REDACTED, [REDACTED, [{ deep: [REDACTED] }]]], "plain"]);
});

Deno.test("Redactor.redactValue() preserves numbers, booleans, null and undefined", () => {
  const r = redactorOf("1234", "true");
  const input = {
    n: 1234,
    f: 12.34,
    neg: -1234,
    t: true,
    b: false,
    z: null,
    u: undefined,
    list: [1234, true, null, "1234"],
  };
  const out = r.redactValue(input);
  assert.deepEqual(out, {
    n: 1234,
    f: 12.34,
    neg: -1234,
    t: true,
    b: false,
    z: null,
    u: undefined,
    list: [1234, true, null, REDACTED],
  });
  assert.notEqual(out, input);
  assert.equal(r.redactValue(1234), 1234);
  assert.equal(r.redactValue(null), null);
  assert.equal(r.redactValue(true), true);
  assert.equal(r.redactValue(12n), 12n);
});

Deno.test("Redactor.redactValue() serializes like JSON.stringify: toJSON, class instances, boxed strings", () => {
  const secret = "s3cr3t-value";
  class Credentials {
    constructor(readonly user: string, readonly password: string) {}
  }
  const r = redactorOf(secret);
  const out = r.redactValue({
    at: new Date("2024-01-02T03:04:05.000Z"),
    custom: { toJSON: () => `serialized ${secret}` },
    creds: new Credentials("u", secret),
    boxed: new String(secret),
  });
  const expected = {
    at: "2024-01-02T03:04:05.000Z",
    custom: `serialized ${REDACTED}`,
    creds: { user: "u", password: REDACTED },
    boxed: REDACTED,
  };
  assert.deepEqual(out, expected);
  assert.equal(JSON.stringify(out), JSON.stringify(expected));
});

Deno.test("Redactor.redactValue() calls toJSON() once, as JSON.stringify does", () => {
  const secret = "s3cr3t-value";
  const input = { x: { toJSON: () => ({ toJSON: () => secret, pw: secret }) } };
  assert.equal(JSON.stringify(input), `{"x":{"pw":"${secret}"}}`);
  const out = redactorOf(secret).redactValue(input);
  assert.equal(JSON.stringify(out), `{"x":{"pw":"${REDACTED}"}}`);
});

Deno.test("Redactor.redactValue() keeps a __proto__ key as an own property", () => {
  const input = JSON.parse('{"__proto__":{"polluted":"s3cr3t-x"}}');
  const out = redactorOf("s3cr3t-x").redactValue(input) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":"[redacted]"}}');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("Redactor.add() ignores the empty string", () => {
  const r = new Redactor();
  r.add("");
  assert.equal(r.size, 0);
  assert.equal(r.redact("nothing to hide"), "nothing to hide");
  assert.equal(r.redact(""), "");
  assert.deepEqual(r.redactValue({ a: "", b: ["x"] }), { a: "", b: ["x"] });
  r.add("s3cr3t");
  r.add("");
  assert.equal(r.redact("s3cr3t"), REDACTED);
  assert.equal(r.redact(""), "");
});

Deno.test("Redactor.add() refuses a value that is not a string", () => {
  const r = new Redactor();
  assert.throws(() => r.add(undefined as unknown as string), TypeError);
  assert.throws(() => r.add(1234 as unknown as string), TypeError);
  assert.equal(r.size, 0);
});

Deno.test("Redactor.size counts each distinct form once", () => {
  const r = new Redactor();
  r.add("hunter2");
  assert.equal(r.size, 3); // the value, its base64 with and without padding
  r.add("hunter2");
  assert.equal(r.size, 3);
  r.add('pa"ss w/rd');
  assert.ok(r.size > 3 + 3);
});

Deno.test("Redactor.redactValue() throws a TypeError naming the path of a cycle", () => {
  const r = redactorOf("s3cr3t");
  const a: Record<string, unknown> = { name: "s3cr3t", list: [] };
  (a.list as unknown[]).push({ back: a });
  assert.throws(() => r.redactValue(a), {
    name: "TypeError",
    message: "Redactor.redactValue(): circular reference at $.list[0].back",
  });
  const arr: unknown[] = [];
  arr.push(arr);
  assert.throws(() => r.redactValue(arr), TypeError);
  // Without any secret registered, too.
  assert.throws(() => new Redactor().redactValue(arr), TypeError);
});

Deno.test("Redactor.redactValue() accepts the same object twice when it is not a cycle", () => {
  const r = redactorOf("s3cr3t");
  const shared = { pw: "s3cr3t" };
  assert.deepEqual(r.redactValue({ a: shared, b: [shared, shared] }), {
    a: { pw: REDACTED },
    b: [{ pw: REDACTED }, { pw: REDACTED }],
  });
});

Deno.test("Redactor.redact() picks up a secret added after it was first used", () => {
  const r = redactorOf("first-secret");
  assert.equal(r.redact("first-secret second-secret"), `${REDACTED} second-secret`);
  r.add("second-secret");
  assert.equal(r.redact("first-secret second-secret"), `${REDACTED} ${REDACTED}`);
});

Deno.test("Redactor.redact() treats regular-expression syntax in a secret literally", () => {
  const r = redactorOf(".*", "a|b", "(x)[y]{2}^$\\");
  assert.equal(r.redact("abc"), "abc");
  assert.equal(r.redact("1.*2"), `1${REDACTED}2`);
  assert.equal(r.redact("a|b a b"), `${REDACTED} a b`);
  assert.equal(r.redact("(x)[y]{2}^$\\"), REDACTED);
});

Deno.test("Redactor.redact() redacts a secret with a lone surrogate", () => {
  const secret = "pw-\ud800-x";
  const r = redactorOf(secret);
  assert.equal(r.redact(`a ${secret} b`), `a ${REDACTED} b`);
  assert.equal(r.redact(JSON.stringify(secret)), `"${REDACTED}"`);
});

Deno.test("Journal with a Redactor writes no form of a secret with a quote to events.jsonl", async () => {
  const secret = 'db"pa\\ss\nword';
  const path = await Deno.makeTempFile();
  try {
    const j = await Journal.open(path, { redactor: redactorOf(secret) });
    await j.append({ type: "stage.log", message: `password ${secret}`, evidence: { pw: secret } });
    await j.close();
    const text = await Deno.readTextFile(path);
    assertNoForm(text, secret);
    const event = JSON.parse(text);
    assert.equal(event.message, `password ${REDACTED}`);
    assert.deepEqual(event.evidence, { pw: REDACTED });
  } finally {
    await Deno.remove(path);
  }
});
