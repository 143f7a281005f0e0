// "Check your code": the migration report of mapsite.scan (_ext/mapsite/scan.py), made in the browser.
//
// The reader's code is read, never run, and never leaves the page. Four parts, in order:
//   1. reading Python: a tokenizer and a parser giving a syntax tree shaped like Python's `ast`
//      (only what the scan needs; code Python 3.11 accepts is accepted, and most code it rejects
//      is rejected at the same line);
//   2. the scan: a port of FileScanner, statement for statement, so that aliases, re-binding,
//      shadowing, branches, classes and tensor receivers resolve as the command line resolves them;
//   3. the report: the same records, summary and summary line as `python -m mapsite.scan --json`;
//   4. the page: paste or drop files, render the report from mappings.json.
// Parts 1-3 need no browser (module.exports at the end), part 4 runs only on the page.
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------------
  // 1. Reading Python
  // ---------------------------------------------------------------------------------------------

  class PySyntaxError extends Error {
    constructor(message, offset) {
      super(message);
      this.offset = offset;   // where, in the (newline-normalised) source
    }
  }

  const KEYWORDS = new Set(("False None True and as assert async await break class continue def del elif else " +
    "except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield").split(" "));
  const OPERATORS = ["**=", "//=", ">>=", "<<=", "...", "->", ":=", "==", "!=", "<=", ">=", "**", "//", "<<", ">>",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "(", ")", "[", "]", "{", "}", ":", ",", ";", ".", "+", "-",
    "*", "/", "%", "&", "|", "^", "~", "<", ">", "=", "@"];
  const CLOSERS = { ")": "(", "]": "[", "}": "{" };
  const NAME_RE = /[\p{ID_Start}_]\p{ID_Continue}*/uy;
  const NUMBER_RE = /0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?[jJ]?/y;
  const STRING_PREFIX = /^(?:[rRuUbBfF]|[bB][rR]|[rR][bB]|[fF][rR]|[rR][fF])$/;

  /** A Python source, newlines normalised as Python's tokenizer does, with line lookup. */
  class Source {
    constructor(text) {
      this.text = text.replace(/\r\n?/g, "\n");
      this.lineStarts = [0];
      for (let i = this.text.indexOf("\n"); i !== -1; i = this.text.indexOf("\n", i + 1)) this.lineStarts.push(i + 1);
    }
    line(offset) {   // 1-based
      let lo = 0, hi = this.lineStarts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.lineStarts[mid] <= offset) lo = mid; else hi = mid - 1;
      }
      return lo + 1;
    }
    /** 1-based column as Python's ast counts it: UTF-8 bytes from the start of the line. */
    byteColumn(offset) {
      const start = this.lineStarts[this.line(offset) - 1];
      return utf8Length(this.text.slice(start, offset)) + 1;
    }
    charColumn(offset) {
      return offset - this.lineStarts[this.line(offset) - 1] + 1;
    }
  }

  function utf8Length(text) {
    let n = 0;
    for (const ch of text) {
      const c = ch.codePointAt(0);
      n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    }
    return n;
  }

  /**
   * Tokens of src.text between `start` and `end`. In "module" mode: NEWLINE, INDENT and DEDENT as
   * Python makes them. In "expression" mode (an f-string's replacement field) the text is read as
   * if inside brackets. Token: {t: NAME|NUMBER|STRING|OP|NEWLINE|INDENT|DEDENT|END|ERROR, v, s, e,
   * level (brackets open)}. Python's tokenizer runs as its parser asks for tokens, so an error it
   * finds is reported only if the parser gets that far: here an ERROR token ends the list, and
   * the parser raises its error when it reaches it.
   */
  function tokenize(src, start = 0, end = src.text.length, mode = "module") {
    const tokens = [], brackets = [];
    try {
      readTokens(src, start, end, mode, tokens, brackets);
    } catch (error) {
      if (!(error instanceof PySyntaxError)) throw error;
      tokens.push({ t: "ERROR", v: "", s: error.offset, e: error.offset, error, open: brackets[brackets.length - 1] });
    }
    return tokens;
  }

  function readTokens(src, start, end, mode, tokens, brackets) {
    const text = src.text, base = mode === "module" ? 0 : 1;
    const indents = [0], altIndents = [0];   // columns with tabs to 8, and with tabs as 1 (consistency)
    let i = start, lineStart = mode === "module";
    const push = (t, v, s, e, extra) => tokens.push(Object.assign({ t, v, s, e, level: brackets.length + base }, extra));
    const fail = (message, offset) => { throw new PySyntaxError(message, offset); };
    // Errors Python's tokenizer leaves to its parser to report: after a parser error they give way.
    const later = (message, offset) => { throw Object.assign(new PySyntaxError(message, offset), { deferred: true }); };

    while (true) {
      if (lineStart && !brackets.length) {
        let col = 0, alt = 0, j = i;
        for (; j < end; j++) {
          const c = text[j];
          if (c === " ") { col++; alt++; }
          else if (c === "\t") { col = Math.floor(col / 8) * 8 + 8; alt++; }
          else if (c === "\f") { col = 0; alt = 0; }
          else break;
        }
        if (j >= end) { i = j; break; }
        if (text[j] === "\n") { i = j + 1; continue; }                 // a blank line
        if (text[j] === "#") {                                          // a comment line
          const nl = text.indexOf("\n", j);
          i = nl === -1 || nl >= end ? end : nl + 1;
          continue;
        }
        if (text[j] === "\\" && text[j + 1] === "\n") { i = j + 2; lineStart = false; continue; }
        const top = indents[indents.length - 1];
        if (col > top) {
          if (alt <= altIndents[altIndents.length - 1]) later("inconsistent use of tabs and spaces in indentation", j);
          indents.push(col); altIndents.push(alt);
          push("INDENT", "", j, j);
        } else {
          while (col < indents[indents.length - 1]) {
            indents.pop(); altIndents.pop();
            push("DEDENT", "", j, j);
          }
          if (col !== indents[indents.length - 1]) later("unindent does not match any outer indentation level", j);
          if (alt !== altIndents[altIndents.length - 1]) later("inconsistent use of tabs and spaces in indentation", j);
        }
        lineStart = false;
        i = j;
      }
      while (i < end && (text[i] === " " || text[i] === "\t" || text[i] === "\f")) i++;
      if (i >= end) break;
      const c = text[i];
      if (c === "#") {
        if (mode === "expression") fail("f-string expression part cannot include '#'", i);
        const nl = text.indexOf("\n", i);
        i = nl === -1 || nl >= end ? end : nl;
        continue;
      }
      if (c === "\n") {
        if (!brackets.length && mode === "module") { push("NEWLINE", "", i, i + 1); lineStart = true; }
        i++;
        continue;
      }
      if (c === "\\") {
        if (mode === "expression") fail("f-string expression part cannot include a backslash", i);
        if (text[i + 1] === "\n") { i += 2; continue; }
        if (i + 1 >= end) later("unexpected EOF while parsing", i);
        later("unexpected character after line continuation character", i);
      }
      NAME_RE.lastIndex = i;
      let m = NAME_RE.exec(text);
      if (m) {
        const word = m[0].slice(0, end - i), after = i + word.length;
        if (STRING_PREFIX.test(word) && (text[after] === "'" || text[after] === '"')) {
          i = readString(src, word, i, after, end, push);
          continue;
        }
        const name = /^[\x00-\x7f]*$/.test(word) ? word : word.normalize("NFKC");
        push("NAME", name, i, after);
        i = after;
        continue;
      }
      if (c === "'" || c === '"') { i = readString(src, "", i, i, end, push); continue; }
      if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(text[i + 1] || ""))) {
        NUMBER_RE.lastIndex = i;
        m = NUMBER_RE.exec(text);
        if (/^0[0-9_]*[1-9][0-9_]*$/.test(m[0])) {
          fail("leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers", i);
        }
        push("NUMBER", m[0], i, i + m[0].length);
        i += m[0].length;
        continue;
      }
      const op = OPERATORS.find((o) => text.startsWith(o, i) && i + o.length <= end);
      if (!op) {
        const ch = String.fromCodePoint(text.codePointAt(i));
        if ("$?!`".includes(ch)) later("invalid syntax", i);
        fail(/[\p{L}\p{N}\p{P}\p{S}]/u.test(ch) ? `invalid character '${ch}' (U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")})`
          : `invalid non-printable character U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`, i);
      }
      if (op === "(" || op === "[" || op === "{") brackets.push({ v: op, s: i });
      else if (CLOSERS[op]) {
        const open = brackets.pop();
        if (!open) fail(`unmatched '${op}'`, i);
        if (open.v !== CLOSERS[op]) fail(`closing parenthesis '${op}' does not match opening parenthesis '${open.v}'`, i);
      }
      push("OP", op, i, i + op.length);
      i += op.length;
    }
    if (brackets.length) {
      const open = brackets[brackets.length - 1];
      later(`'${open.v}' was never closed`, open.s);
    }
    if (mode === "module") {
      const last = tokens[tokens.length - 1];
      if (last && last.t !== "NEWLINE" && last.t !== "DEDENT") push("NEWLINE", "", end, end);
      for (let k = 1; k < indents.length; k++) push("DEDENT", "", end, end);
    }
    push("END", "", end, end);
  }

  /** One string literal from `quote` on; returns the offset after it. */
  function readString(src, prefix, start, quote, end, push) {
    const text = src.text, q = text[quote];
    const triple = text.startsWith(q + q + q, quote);
    let j = quote + (triple ? 3 : 1);
    while (true) {
      if (j >= end) {
        const what = triple ? "unterminated triple-quoted string literal" : "unterminated string literal";
        throw new PySyntaxError(`${what} (detected at line ${src.line(Math.max(start, end - 1))})`, start);
      }
      const c = text[j];
      if (c === "\\") { j += 2; continue; }
      if (triple) {
        if (text.startsWith(q + q + q, j)) { j += 3; break; }
      } else {
        if (c === "\n") throw new PySyntaxError(`unterminated string literal (detected at line ${src.line(start)})`, start);
        if (c === q) { j++; break; }
      }
      j++;
    }
    const p = prefix.toLowerCase();
    push("STRING", text.slice(start, j), start, j, {
      prefix: p, body: [quote + (triple ? 3 : 1), j - (triple ? 3 : 1)],
    });
    return j;
  }

  // -- the syntax tree: plain objects {type, ...}, with `s` the offset where the node starts -------

  const AUGMENTED = new Set(["+=", "-=", "*=", "/=", "//=", "%=", "@=", "&=", "|=", "^=", ">>=", "<<=", "**="]);
  const COMPARISONS = new Set(["==", "!=", "<", ">", "<=", ">="]);
  const BINARY_LEVELS = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "//", "%", "@"]];
  const KIND_NAMES = {   // how Python's messages name an expression that cannot be assigned to
    Call: "function call", Constant: "literal", JoinedStr: "f-string expression", BinOp: "expression",
    UnaryOp: "expression", BoolOp: "expression", Compare: "comparison", IfExp: "conditional expression",
    Lambda: "lambda", Dict: "dict literal", Set: "set display", ListComp: "list comprehension",
    SetComp: "set comprehension", DictComp: "dict comprehension", GeneratorExp: "generator expression",
    Await: "await expression", Yield: "yield expression", YieldFrom: "yield expression", NamedExpr: "named expression",
    Slice: "slice",
  };

  class Parser {
    constructor(src, tokens) {
      this.src = src;
      this.tokens = tokens;
      this.p = 0;
      this.furthest = 0;   // the furthest token read, lookahead included
    }

    // -- tokens --
    get tok() { return this.token(this.p); }
    peek(k = 1) { return this.token(Math.min(this.p + k, this.tokens.length - 1)); }
    token(index) {
      if (index > this.furthest) this.furthest = index;
      const tok = this.tokens[index];
      if (tok.t === "ERROR") throw tok.error;
      return tok;
    }
    next() { return this.tokens[this.p++]; }
    isOp(v, tok = this.tok) { return tok.t === "OP" && tok.v === v; }
    isKw(v, tok = this.tok) { return tok.t === "NAME" && tok.v === v; }
    isName(tok = this.tok) { return tok.t === "NAME" && !KEYWORDS.has(tok.v); }
    eatOp(v) { if (this.isOp(v)) { this.p++; return true; } return false; }
    eatKw(v) { if (this.isKw(v)) { this.p++; return true; } return false; }
    fail(message = "invalid syntax", tok = this.tok) { throw new PySyntaxError(message, tok.s); }
    expectOp(v, message) { if (!this.eatOp(v)) this.fail(message || (this.tok.t === "END" || this.tok.t === "NEWLINE" ? `expected '${v}'` : "invalid syntax")); }
    unexpectedIndent() {   // Python reports this one as it is, whatever follows
      throw Object.assign(new PySyntaxError("unexpected indent", this.tok.s), { final: true });
    }
    expectKw(v) { if (!this.eatKw(v)) this.fail(`expected '${v}'`); }
    name() {
      if (!this.isName()) this.fail();
      return this.next();
    }

    // -- statements --
    module() {
      const body = [];
      while (this.tok.t !== "END") {
        if (this.tok.t === "INDENT") this.unexpectedIndent();
        body.push(...this.statement());
      }
      return body;
    }

    statement() {
      const tok = this.tok;
      if (this.isOp("@")) return [this.decorated()];
      if (tok.t === "NAME") {
        switch (tok.v) {
          case "def": case "class": return [this.definition([])];
          case "if": return [this.ifStatement()];
          case "while": return [this.whileStatement()];
          case "for": return [this.forStatement()];
          case "with": return [this.withStatement()];
          case "try": return [this.tryStatement()];
          case "async":
            if (this.isKw("def", this.peek())) return [this.definition([])];
            if (this.isKw("for", this.peek())) { this.next(); return [this.forStatement()]; }
            if (this.isKw("with", this.peek())) { this.next(); return [this.withStatement()]; }
            this.fail();
            break;
          case "match": {
            const match = this.matchStatement();
            if (match) return [match];
            break;
          }
        }
      }
      return this.simpleStatements();
    }

    simpleStatements() {
      const statements = [this.simpleStatement()];
      while (this.eatOp(";")) {
        if (this.tok.t === "NEWLINE") break;
        statements.push(this.simpleStatement());
      }
      if (this.tok.t !== "NEWLINE") this.fail();
      this.next();
      return statements;
    }

    /** `:` then an indented block, or simple statements on the same line. */
    block(what, opener) {
      this.expectOp(":", "expected ':'");
      if (this.tok.t !== "NEWLINE") return this.simpleStatements();
      this.next();
      if (this.tok.t !== "INDENT") {
        this.fail(`expected an indented block after ${what} on line ${this.src.line(opener.s)}`);
      }
      this.next();
      const body = [];
      while (this.tok.t !== "DEDENT" && this.tok.t !== "END") body.push(...this.statement());
      this.next();
      return body;
    }

    atStatementEnd() { return this.tok.t === "NEWLINE" || this.isOp(";") || this.tok.t === "END"; }

    simpleStatement() {
      const tok = this.tok, s = tok.s;
      if (tok.t === "NAME") {
        switch (tok.v) {
          case "pass": case "break": case "continue":
            this.next();
            return { type: tok.v[0].toUpperCase() + tok.v.slice(1), s };
          case "return":
            this.next();
            return { type: "Return", s, value: this.atStatementEnd() ? null : this.starExpressions() };
          case "import": return this.importStatement();
          case "from": return this.importFrom();
          case "raise": {
            this.next();
            let exc = null, cause = null;
            if (!this.atStatementEnd()) {
              exc = this.expression();
              if (this.eatKw("from")) cause = this.expression();
            }
            return { type: "Raise", s, exc, cause };
          }
          case "global": case "nonlocal": {
            this.next();
            const names = [this.name().v];
            while (this.eatOp(",")) names.push(this.name().v);
            return { type: tok.v === "global" ? "Global" : "Nonlocal", s, names };
          }
          case "del": {
            this.next();
            const targets = [];
            do {
              if (this.atStatementEnd()) break;
              const target = this.bitwiseOr();
              this.checkTarget(target, "delete");
              targets.push(target);
            } while (this.eatOp(","));
            if (!targets.length) this.fail();
            return { type: "Delete", s, targets };
          }
          case "assert": {
            this.next();
            const test = this.expression();
            return { type: "Assert", s, test, msg: this.eatOp(",") ? this.expression() : null };
          }
        }
      }
      const first = this.isKw("yield") ? this.yieldExpression() : this.starExpressions();
      if (this.isOp(":")) {
        if (first.type === "Tuple" && !first.parens) this.fail("only single target (not tuple) can be annotated", this.tokenAt(first.s));
        if (!["Name", "Attribute", "Subscript"].includes(first.type)) {
          this.fail(`illegal target for annotation`, this.tokenAt(first.s));
        }
        this.next();
        const annotation = this.expression();
        let value = null;
        if (this.eatOp("=")) value = this.isKw("yield") ? this.yieldExpression() : this.starExpressions();
        return { type: "AnnAssign", s, target: first, annotation, value };
      }
      if (this.tok.t === "OP" && AUGMENTED.has(this.tok.v)) {
        if (!["Name", "Attribute", "Subscript"].includes(first.type)) {
          this.fail(`'${KIND_NAMES[first.type] || first.type.toLowerCase()}' is an illegal expression for augmented assignment`, this.tokenAt(first.s));
        }
        this.next();
        const value = this.isKw("yield") ? this.yieldExpression() : this.starExpressions();
        return { type: "AugAssign", s, target: first, value };
      }
      if (this.isOp("=")) {
        const targets = [first];
        while (this.eatOp("=")) targets.push(this.isKw("yield") ? this.yieldExpression() : this.starExpressions());
        const value = targets.pop();
        for (const target of targets) this.checkTarget(target, "assign to");
        return { type: "Assign", s, targets, value };
      }
      return { type: "Expr", s, value: first };
    }

    tokenAt(offset) { return { s: offset }; }

    /** A target of =, for, with ... as, del: names, attributes, subscripts, and tuples/lists of them. */
    checkTarget(node, verb) {
      switch (node.type) {
        case "Name": case "Attribute": case "Subscript": return;
        case "Tuple": case "List":
          for (const element of node.elts) this.checkTarget(element, verb);
          return;
        case "Starred":
          if (verb === "delete") break;
          this.checkTarget(node.value, verb);
          return;
      }
      const what = node.type === "Constant" && node.keyword ? node.keyword : KIND_NAMES[node.type] || "expression";
      this.fail(`cannot ${verb} ${what}`, this.tokenAt(node.s));
    }

    importStatement() {
      const s = this.next().s, names = [];
      do {
        let name = this.name().v;
        while (this.eatOp(".")) name += "." + this.name().v;
        names.push({ name, asname: this.eatKw("as") ? this.name().v : null });
      } while (this.eatOp(","));
      return { type: "Import", s, names };
    }

    importFrom() {
      const s = this.next().s;
      let level = 0, module = null;
      while (this.isOp(".") || this.isOp("...")) level += this.next().v.length;
      if (!this.isKw("import") || !level) {
        module = this.name().v;
        while (this.eatOp(".")) module += "." + this.name().v;
      }
      this.expectKw("import");
      const names = [];
      if (this.eatOp("*")) {
        names.push({ name: "*", asname: null });
      } else {
        const parens = this.eatOp("(");
        do {
          if (parens && this.isOp(")")) break;
          names.push({ name: this.name().v, asname: this.eatKw("as") ? this.name().v : null });
        } while (this.eatOp(","));
        if (parens) this.expectOp(")");
        if (!names.length) this.fail();
      }
      return { type: "ImportFrom", s, module, level, names };
    }

    decorated() {
      const decorators = [];
      while (this.eatOp("@")) {
        decorators.push(this.namedExpression());
        if (this.tok.t !== "NEWLINE") this.fail();
        this.next();
      }
      if (!(this.isKw("def") || this.isKw("class") || (this.isKw("async") && this.isKw("def", this.peek())))) this.fail();
      return this.definition(decorators);
    }

    definition(decorators) {
      const opener = this.tok;
      if (this.eatKw("class")) {
        const name = this.name().v;
        let bases = [], keywords = [];
        if (this.eatOp("(")) ({ args: bases, keywords } = this.callArguments());
        const body = this.block("class definition", opener);
        return { type: "ClassDef", s: opener.s, name, bases, keywords, decorator_list: decorators, body };
      }
      this.eatKw("async");
      const keyword = this.tok;
      this.expectKw("def");
      const name = this.name().v;
      this.expectOp("(", "expected '('");
      const args = this.parameters(")", true);
      this.expectOp(")");
      const returns = this.eatOp("->") ? this.expression() : null;
      const body = this.block(`function definition`, keyword);
      return { type: "FunctionDef", s: opener.s, name, args, returns, decorator_list: decorators, body };
    }

    /** Parameters up to `closer` (`)` of a def, `:` of a lambda), as ast.arguments. */
    parameters(closer, annotated) {
      const a = { posonlyargs: [], args: [], vararg: null, kwonlyargs: [], kw_defaults: [], kwarg: null, defaults: [] };
      let keywordOnly = false;
      const param = (star) => {
        const tok = this.name();
        let annotation = null;
        if (annotated && this.eatOp(":")) annotation = star && this.isOp("*") ? (this.next(), this.expression()) : this.expression();
        return { arg: tok.v, annotation, s: tok.s };
      };
      while (!this.isOp(closer)) {
        if (a.kwarg) this.fail("arguments cannot follow var-keyword argument");
        if (this.eatOp("/")) {
          if (keywordOnly || a.posonlyargs.length || !a.args.length) this.fail("invalid syntax", this.peek(-1));
          a.posonlyargs = a.args;
          a.args = [];
        } else if (this.eatOp("**")) {
          a.kwarg = param(false);
        } else if (this.eatOp("*")) {
          if (keywordOnly) this.fail("* argument may appear only once", this.peek(-1));
          keywordOnly = true;
          if (!this.isOp(",")) a.vararg = param(true);
        } else {
          const arg = param(false);
          const value = this.eatOp("=") ? this.expression() : null;
          if (keywordOnly) {
            a.kwonlyargs.push(arg);
            a.kw_defaults.push(value);
          } else {
            a.args.push(arg);
            if (value) a.defaults.push(value);
            else if (a.defaults.length) this.fail("non-default argument follows default argument", this.tokenAt(arg.s));
          }
        }
        if (!this.eatOp(",")) break;
      }
      return a;
    }

    ifStatement() {
      const opener = this.next();
      const test = this.namedExpression();
      const body = this.block(`'${opener.v}' statement`, opener);
      let orelse = [];
      if (this.isKw("elif")) orelse = [this.ifStatement()];
      else if (this.isKw("else")) { const e = this.next(); orelse = this.block("'else' statement", e); }
      return { type: "If", s: opener.s, test, body, orelse };
    }

    whileStatement() {
      const opener = this.next();
      const test = this.namedExpression();
      const body = this.block("'while' statement", opener);
      let orelse = [];
      if (this.isKw("else")) { const e = this.next(); orelse = this.block("'else' statement", e); }
      return { type: "While", s: opener.s, test, body, orelse };
    }

    forStatement() {
      const opener = this.next();
      const target = this.targetList();
      this.expectKw("in");
      const iter = this.starExpressions();
      const body = this.block("'for' statement", opener);
      let orelse = [];
      if (this.isKw("else")) { const e = this.next(); orelse = this.block("'else' statement", e); }
      return { type: "For", s: opener.s, target, iter, body, orelse };
    }

    withStatement() {
      const opener = this.next();
      let items = null;
      if (this.isOp("(")) {   // with (a as b, c as d): ... ; on failure, an expression in brackets
        const saved = this.p;
        try {
          this.next();
          items = [];
          do {
            if (this.isOp(")")) break;
            items.push(this.withItem());
          } while (this.eatOp(","));
          this.expectOp(")");
          if (!this.isOp(":")) throw new PySyntaxError("", 0);
        } catch (error) {
          if (!(error instanceof PySyntaxError)) throw error;
          this.p = saved;
          items = null;
        }
      }
      if (!items) {
        items = [this.withItem()];
        while (this.eatOp(",")) items.push(this.withItem());
      }
      const body = this.block("'with' statement", opener);
      return { type: "With", s: opener.s, items, body };
    }

    withItem() {
      const context_expr = this.expression();
      let optional_vars = null;
      if (this.eatKw("as")) {
        optional_vars = this.targetElement();
        this.checkTarget(optional_vars, "assign to");
      }
      return { context_expr, optional_vars };
    }

    tryStatement() {
      const opener = this.next();
      const body = this.block("'try' statement", opener);
      const handlers = [];
      while (this.isKw("except")) {
        const e = this.next();
        this.eatOp("*");
        let type = null, name = null;
        if (!this.isOp(":")) {
          type = this.expression();
          if (this.isOp(",")) this.fail("multiple exception types must be parenthesized", this.tokenAt(type.s));
          if (this.eatKw("as")) name = this.name().v;
        }
        handlers.push({ type, name, body: this.block("'except' statement", e) });
      }
      let orelse = [], finalbody = [];
      if (handlers.length && this.isKw("else")) { const e = this.next(); orelse = this.block("'else' statement", e); }
      if (this.isKw("finally")) { const e = this.next(); finalbody = this.block("'finally' statement", e); }
      if (!handlers.length && !finalbody.length) {
        let k = this.p - 1;
        while (k > 0 && this.tokens[k].t === "DEDENT") k--;
        this.fail("expected 'except' or 'finally' block", this.tokens[k]);
      }
      return { type: "Try", s: opener.s, body, handlers, orelse, finalbody };
    }

    /** `match` is a keyword only where a match statement parses; otherwise it is a name. */
    matchStatement() {
      const saved = this.p, opener = this.next();
      let subject;
      try {
        if (this.atStatementEnd() || this.isOp("=") || this.isOp(".") || this.isOp(",") || this.isOp(":")) throw new PySyntaxError("", 0);
        const first = this.starNamedExpression();
        subject = first;
        if (this.isOp(",")) {
          const elts = [first];
          while (this.eatOp(",")) {
            if (this.isOp(":")) break;
            elts.push(this.starNamedExpression());
          }
          subject = { type: "Tuple", s: first.s, elts };
        }
        if (!this.isOp(":") || this.peek().t !== "NEWLINE") throw new PySyntaxError("", 0);
      } catch (error) {
        if (!(error instanceof PySyntaxError)) throw error;
        this.p = saved;
        return null;
      }
      this.next();
      this.next();
      if (this.tok.t !== "INDENT") this.fail(`expected an indented block after 'match' statement on line ${this.src.line(opener.s)}`);
      this.next();
      const cases = [];
      while (this.isKw("case")) {
        const c = this.next();
        const pattern = [];
        this.patterns(pattern);
        const guard = this.eatKw("if") ? this.namedExpression() : null;
        cases.push({ pattern, guard, body: this.block("'case' statement", c) });
      }
      if (!cases.length) this.fail();
      if (this.tok.t !== "DEDENT") this.fail();
      this.next();
      return { type: "Match", s: opener.s, subject, cases };
    }

    // Patterns: only the expressions in them matter to the scan (values like `torch.float32`,
    // classes like `nn.Linear(...)`); they are collected into `out` in order.
    patterns(out) {
      this.starPattern(out);
      if (this.isOp(",")) {
        while (this.eatOp(",")) {
          if (this.isOp(":") || this.isKw("if")) break;
          this.starPattern(out);
        }
      }
    }

    starPattern(out) {
      if (this.eatOp("*")) { this.name(); return; }
      this.pattern(out);
    }

    pattern(out) {
      this.closedPattern(out);
      while (this.eatOp("|")) this.closedPattern(out);
      if (this.eatKw("as")) this.name();
    }

    closedPattern(out) {
      const tok = this.tok;
      if (this.isOp("-") || tok.t === "NUMBER") {
        this.eatOp("-");
        if (this.tok.t !== "NUMBER") this.fail();
        this.next();
        if ((this.isOp("+") || this.isOp("-")) && this.peek().t === "NUMBER") { this.next(); this.next(); }
        return;
      }
      if (tok.t === "STRING") { this.strings(); return; }
      if (this.isKw("None") || this.isKw("True") || this.isKw("False")) { this.next(); return; }
      if (this.isName()) {
        let value = this.atomName(this.next());
        let dotted = false;
        while (this.eatOp(".")) { value = this.attribute(value, this.name()); dotted = true; }
        if (this.eatOp("(")) {
          out.push(value);
          while (!this.isOp(")")) {
            if (this.isName() && this.isOp("=", this.peek())) { this.next(); this.next(); }
            this.pattern(out);
            if (!this.eatOp(",")) break;
          }
          this.expectOp(")");
        } else if (dotted) {
          out.push(value);
        }
        return;
      }
      if (this.eatOp("(")) {
        while (!this.isOp(")")) {
          this.starPattern(out);
          if (!this.eatOp(",")) break;
        }
        this.expectOp(")");
        return;
      }
      if (this.eatOp("[")) {
        while (!this.isOp("]")) {
          this.starPattern(out);
          if (!this.eatOp(",")) break;
        }
        this.expectOp("]");
        return;
      }
      if (this.eatOp("{")) {
        while (!this.isOp("}")) {
          if (this.eatOp("**")) this.name();
          else {
            if (this.isName()) {
              let key = this.atomName(this.next());
              if (!this.isOp(".")) this.fail();
              while (this.eatOp(".")) key = this.attribute(key, this.name());
              out.push(key);
            } else {
              this.closedPattern(out);
            }
            this.expectOp(":");
            this.pattern(out);
          }
          if (!this.eatOp(",")) break;
        }
        this.expectOp("}");
        return;
      }
      this.fail();
    }

    // -- expressions --
    canStartExpression(tok = this.tok) {
      if (tok.t === "NAME") return !KEYWORDS.has(tok.v) || ["not", "lambda", "await", "None", "True", "False", "yield"].includes(tok.v);
      if (tok.t === "NUMBER" || tok.t === "STRING") return true;
      return tok.t === "OP" && ["(", "[", "{", "-", "+", "~", "*", "..."].includes(tok.v);
    }

    starExpressions() {
      const first = this.starExpression();
      if (!this.isOp(",")) return first;
      const elts = [first];
      while (this.eatOp(",")) {
        if (!this.canStartExpression()) break;
        elts.push(this.starExpression());
      }
      return { type: "Tuple", s: first.s, elts };
    }

    starExpression() {
      if (this.isOp("*")) { const s = this.next().s; return { type: "Starred", s, value: this.bitwiseOr() }; }
      return this.expression();
    }

    starNamedExpression() {
      if (this.isOp("*")) { const s = this.next().s; return { type: "Starred", s, value: this.bitwiseOr() }; }
      return this.namedExpression();
    }

    namedExpression(inCall = false) {
      if (this.isName() && this.isOp(":=", this.peek())) {
        const target = this.atomName(this.next());
        this.next();
        return { type: "NamedExpr", s: target.s, target, value: this.expression() };
      }
      const value = this.expression();
      if (this.isOp(":=")) this.fail(`cannot use assignment expressions with ${KIND_NAMES[value.type] || value.type.toLowerCase()}`, this.tokenAt(value.s));
      if (this.isOp("=") && !inCall) {
        this.fail(value.type === "Name" ? "invalid syntax. Maybe you meant '==' or ':=' instead of '='?"
          : `cannot assign to ${value.type === "Attribute" ? "attribute" : value.type === "Subscript" ? "subscript" : KIND_NAMES[value.type] || "expression"} here. Maybe you meant '==' instead of '='?`, this.tokenAt(value.s));
      }
      return value;
    }

    expression() {
      if (this.isKw("lambda")) return this.lambda();
      const first = this.tok;
      const body = this.disjunction();
      // Two expressions side by side in brackets: Python points at the first one.
      const tok = this.tok;
      if (tok.level > 0 && (tok.t === "NUMBER" || tok.t === "STRING" || this.isName(tok) || this.isOp("{", tok) || this.isOp("~", tok)
          || this.isOp("...", tok) || ["True", "False", "None", "lambda", "not", "await"].includes(tok.t === "NAME" && tok.v))
          && !(first.t === "NAME" && this.tokens[this.p - 1] === first && tok.t === "STRING")
          && !(first.t === "NAME" && ["match", "case", "_"].includes(first.v))) {
        this.fail("invalid syntax. Perhaps you forgot a comma?", this.tokenAt(body.s));
      }
      if (!this.isKw("if")) return body;
      this.next();
      const test = this.disjunction();
      this.expectKw("else");
      return { type: "IfExp", s: body.s, test, body, orelse: this.expression() };
    }

    lambda() {
      const s = this.next().s;
      const args = this.parameters(":", false);
      this.expectOp(":");
      return { type: "Lambda", s, args, body: this.expression() };
    }

    disjunction() { return this.boolean("or", () => this.conjunction()); }
    conjunction() { return this.boolean("and", () => this.inversion()); }

    boolean(word, operand) {
      const first = operand();
      if (!this.isKw(word)) return first;
      const values = [first];
      while (this.eatKw(word)) values.push(operand());
      return { type: "BoolOp", s: first.s, op: word, values };
    }

    inversion() {
      if (this.isKw("not")) { const s = this.next().s; return { type: "UnaryOp", s, op: "not", operand: this.inversion() }; }
      return this.comparison();
    }

    comparison() {
      const left = this.bitwiseOr();
      const ops = [], comparators = [];
      while (true) {
        let op = null;
        if (this.tok.t === "OP" && COMPARISONS.has(this.tok.v)) op = this.next().v;
        else if (this.isKw("in")) { this.next(); op = "in"; }
        else if (this.isKw("not") && this.isKw("in", this.peek())) { this.p += 2; op = "not in"; }
        else if (this.isKw("is")) { this.next(); op = this.eatKw("not") ? "is not" : "is"; }
        if (!op) break;
        ops.push(op);
        comparators.push(this.bitwiseOr());
      }
      return ops.length ? { type: "Compare", s: left.s, left, ops, comparators } : left;
    }

    bitwiseOr() { return this.binary(0); }

    binary(level) {
      if (level === BINARY_LEVELS.length) return this.factor();
      let left = this.binary(level + 1);
      while (this.tok.t === "OP" && BINARY_LEVELS[level].includes(this.tok.v)) {
        const op = this.next().v;
        left = { type: "BinOp", s: left.s, left, op, right: this.binary(level + 1) };
      }
      return left;
    }

    factor() {
      if (this.isOp("-") || this.isOp("+") || this.isOp("~")) {
        const tok = this.next();
        return { type: "UnaryOp", s: tok.s, op: tok.v, operand: this.factor() };
      }
      const base = this.isKw("await")
        ? (() => { const s = this.next().s; return { type: "Await", s, value: this.primary() }; })()
        : this.primary();
      if (this.eatOp("**")) return { type: "BinOp", s: base.s, left: base, op: "**", right: this.factor() };
      return base;
    }

    primary() {
      let node = this.atom();
      while (true) {
        if (this.eatOp(".")) node = this.attribute(node, this.name());
        else if (this.isOp("(")) {
          this.next();
          const { args, keywords } = this.callArguments();
          node = { type: "Call", s: node.s, func: node, args, keywords };
        } else if (this.isOp("[")) {
          this.next();
          node = { type: "Subscript", s: node.s, value: node, slice: this.slices() };
        } else return node;
      }
    }

    attribute(value, nameToken) {
      return { type: "Attribute", s: value.s, value, attr: nameToken.v, at: nameToken.s };
    }

    atomName(tok) { return { type: "Name", s: tok.s, id: tok.v }; }

    /** Arguments of a call (or bases of a class) after `(`, up to and including `)`. */
    callArguments() {
      const args = [], keywords = [];
      while (!this.isOp(")")) {
        const tok = this.tok;
        if (this.eatOp("*")) {
          args.push({ type: "Starred", s: tok.s, value: this.expression() });
        } else if (this.eatOp("**")) {
          keywords.push({ arg: null, value: this.expression() });
        } else if (this.isName() && this.isOp("=", this.peek())) {
          this.p += 2;
          keywords.push({ arg: tok.v, value: this.expression() });
        } else {
          let value = this.namedExpression(true);
          if (this.isKw("for") || (this.isKw("async") && this.isKw("for", this.peek()))) {
            value = { type: "GeneratorExp", s: value.s, elt: value, generators: this.comprehensions() };
            if (args.length || keywords.length || this.isOp(",") && !this.isOp(")", this.peek())) {
              this.fail("Generator expression must be parenthesized", this.tokenAt(value.s));
            }
          } else if (keywords.some((k) => k.arg === null)) {
            this.fail("positional argument follows keyword argument unpacking", this.tokenAt(value.s));
          } else if (keywords.length) {
            this.fail("positional argument follows keyword argument", this.tokenAt(value.s));
          }
          if (this.isOp("=")) this.fail('expression cannot contain assignment, perhaps you meant "=="?', this.tokenAt(value.s));
          args.push(value);
        }
        if (!this.eatOp(",")) break;
      }
      this.expectOp(")");
      return { args, keywords };
    }

    slices() {
      const items = [];
      let comma = false;
      while (true) {
        items.push(this.sliceItem());
        if (!this.eatOp(",")) break;
        comma = true;
        if (this.isOp("]")) break;
      }
      this.expectOp("]");
      return items.length === 1 && !comma ? items[0] : { type: "Tuple", s: items[0].s, elts: items };
    }

    sliceItem() {
      const s = this.tok.s;
      if (this.isOp("*")) { this.next(); return { type: "Starred", s, value: this.bitwiseOr() }; }
      const lower = this.isOp(":") ? null : this.namedExpression();
      if (!this.isOp(":")) return lower;
      this.next();
      const ends = () => this.isOp(":") || this.isOp(",") || this.isOp("]");
      const upper = ends() ? null : this.expression();
      let step = null;
      if (this.eatOp(":")) step = this.isOp(",") || this.isOp("]") ? null : this.expression();
      return { type: "Slice", s, lower, upper, step };
    }

    comprehensions() {
      const generators = [];
      while (this.isKw("for") || (this.isKw("async") && this.isKw("for", this.peek()))) {
        this.eatKw("async");
        this.next();
        const target = this.targetList();
        this.expectKw("in");
        const iter = this.disjunction();
        const ifs = [];
        while (this.eatKw("if")) ifs.push(this.disjunction());
        generators.push({ target, iter, ifs });
      }
      return generators;
    }

    /** Targets of `for` and comprehensions: `a, (b, *c), d.e[f]`; stops before `in`. */
    targetList() {
      const first = this.targetElement();
      let target = first;
      if (this.isOp(",")) {
        const elts = [first];
        while (this.eatOp(",")) {
          if (this.isKw("in") || this.isOp("=") || !this.canStartExpression()) break;
          elts.push(this.targetElement());
        }
        target = { type: "Tuple", s: first.s, elts };
      }
      this.checkTarget(target, "assign to");
      return target;
    }

    targetElement() {
      if (this.isOp("*")) { const s = this.next().s; return { type: "Starred", s, value: this.bitwiseOr() }; }
      return this.bitwiseOr();
    }

    yieldExpression() {
      const s = this.next().s;
      if (this.eatKw("from")) return { type: "YieldFrom", s, value: this.expression() };
      const done = this.atStatementEnd() || this.isOp(")") || this.isOp("]") || this.isOp("}") || this.isOp("=") || this.tok.t === "END";
      return { type: "Yield", s, value: done ? null : this.starExpressions() };
    }

    atom() {
      const tok = this.tok;
      switch (tok.t) {
        case "NAME":
          if (tok.v === "None" || tok.v === "True" || tok.v === "False") {
            this.next();
            return { type: "Constant", s: tok.s, kind: tok.v, keyword: tok.v };
          }
          if (KEYWORDS.has(tok.v)) this.fail();
          this.next();
          return this.atomName(tok);
        case "NUMBER":
          this.next();
          return { type: "Constant", s: tok.s, kind: "number" };
        case "STRING":
          return this.strings();
        case "OP":
          if (tok.v === "...") { this.next(); return { type: "Constant", s: tok.s, kind: "Ellipsis" }; }
          if (tok.v === "(") { this.next(); return this.parenthesized(")"); }
          if (tok.v === "[") return this.listDisplay();
          if (tok.v === "{") return this.braceDisplay();
      }
      if (tok.t === "INDENT") this.unexpectedIndent();
      if (tok.t === "END" || tok.t === "NEWLINE") this.fail("invalid syntax");
      this.fail();
    }

    /** What follows `(`: a group, a tuple, a generator expression or a yield; `closer` ends it. */
    parenthesized(closer, s = this.peek(-1).s) {
      const close = () => { if (closer === ")") this.expectOp(")"); else if (this.tok.t !== "END") this.fail(); };
      if (closer === ")" && this.eatOp(")")) return { type: "Tuple", s, elts: [], parens: true };
      if (this.isKw("yield")) { const y = this.yieldExpression(); close(); return y; }
      const first = this.starNamedExpression();
      if (this.isKw("for") || (this.isKw("async") && this.isKw("for", this.peek()))) {
        const node = { type: "GeneratorExp", s, elt: first, generators: this.comprehensions() };
        close();
        return node;
      }
      if (this.isOp(",")) {
        const elts = [first];
        while (this.eatOp(",")) {
          if (this.isOp(closer) || this.tok.t === "END") break;
          elts.push(this.starNamedExpression());
        }
        close();
        return { type: "Tuple", s, elts, parens: true };
      }
      close();
      return Object.assign({}, first, { parens: true });
    }

    listDisplay() {
      const s = this.next().s;
      if (this.eatOp("]")) return { type: "List", s, elts: [] };
      const first = this.starNamedExpression();
      if (this.isKw("for") || (this.isKw("async") && this.isKw("for", this.peek()))) {
        const node = { type: "ListComp", s, elt: first, generators: this.comprehensions() };
        this.expectOp("]");
        return node;
      }
      const elts = [first];
      while (this.eatOp(",")) {
        if (this.isOp("]")) break;
        elts.push(this.starNamedExpression());
      }
      this.expectOp("]");
      return { type: "List", s, elts };
    }

    braceDisplay() {
      const s = this.next().s;
      if (this.eatOp("}")) return { type: "Dict", s, keys: [], values: [] };
      const keys = [], values = [];
      const item = () => {
        if (this.eatOp("**")) { keys.push(null); values.push(this.bitwiseOr()); return; }
        keys.push(this.expression());
        this.expectOp(":");
        values.push(this.expression());
      };
      if (this.isOp("**")) {
        item();
      } else {
        const first = this.starNamedExpression();
        if (this.eatOp(":")) {
          keys.push(first);
          values.push(this.expression());
          if (this.isKw("for") || (this.isKw("async") && this.isKw("for", this.peek()))) {
            const node = { type: "DictComp", s, key: first, value: values[0], generators: this.comprehensions() };
            this.expectOp("}");
            return node;
          }
        } else {
          if (this.isKw("for") || (this.isKw("async") && this.isKw("for", this.peek()))) {
            const node = { type: "SetComp", s, elt: first, generators: this.comprehensions() };
            this.expectOp("}");
            return node;
          }
          const elts = [first];
          while (this.eatOp(",")) {
            if (this.isOp("}")) break;
            elts.push(this.starNamedExpression());
          }
          this.expectOp("}");
          return { type: "Set", s, elts };
        }
      }
      while (this.eatOp(",")) {
        if (this.isOp("}")) break;
        item();
      }
      this.expectOp("}");
      return { type: "Dict", s, keys, values };
    }

    /** Adjacent string literals: one constant, or an f-string whose fields are parsed as code. */
    strings() {
      const s = this.tok.s, fields = [], group = [];
      while (this.tok.t === "STRING") group.push(this.next());
      let formatted = false, bytes = null, value = "";
      try {
        for (const tok of group) {
          const isBytes = tok.prefix.includes("b");
          if (bytes !== null && bytes !== isBytes) this.fail("cannot mix bytes and nonbytes literals", group[0]);
          bytes = isBytes;
          if (tok.prefix.includes("f")) {
            formatted = true;
            this.fstringFields(tok.body[0], tok.body[1], tok.prefix.includes("r"), 0, fields);
          } else {
            const body = this.src.text.slice(tok.body[0], tok.body[1]);
            if (!tok.prefix.includes("r")) checkEscapes(body, 0, body.length, isBytes, tok.s);
            if (!formatted) value += literalValue(body, tok.prefix.includes("r"));
          }
        }
      } catch (error) {
        // Python finds these once the strings are read: it reports them at the token after them.
        if (error.inFstring) throw new PySyntaxError(error.message, this.tok.s);
        throw error;
      }
      if (formatted) return { type: "JoinedStr", s, values: fields };
      return { type: "Constant", s, kind: bytes ? "bytes" : "str", value };
    }

    /**
     * The replacement fields of an f-string body, as Python 3.11 finds them, into `fields`. In a
     * format spec (depth > 0) braces are not doubled and a `}` ends the spec: returns where.
     */
    fstringFields(start, end, raw, depth, fields) {
      const text = this.src.text;
      let i = start;
      while (i < end) {
        const c = text[i];
        if (c === "\\" && !raw) {
          i = checkEscapes(text, i, i + 2, false, i);
          continue;
        }
        if (c === "{" || c === "}") {
          if (depth === 0 && text[i + 1] === c) { i += 2; continue; }
          if (c === "}") {
            if (depth === 0) throw fstringError("single '}' is not allowed", i);
            return i;
          }
          if (depth >= 2) throw fstringError("expressions nested too deeply", i);
          i = this.fstringField(i + 1, end, raw, depth, fields);
          continue;
        }
        i++;
      }
      return i;
    }

    fstringField(start, end, raw, depth, fields) {
      const text = this.src.text;
      const fail = (message, at) => { throw fstringError(message, at); };
      let i = start, nesting = 0, quote = null, tripled = false;
      for (; i < end; i++) {
        const c = text[i];
        if (c === "\\") fail("expression part cannot include a backslash", i);
        if (quote) {
          if (c === quote) {
            if (!tripled) quote = null;
            else if (text[i + 1] === c && text[i + 2] === c) { quote = null; i += 2; }
          }
          continue;
        }
        if (c === "'" || c === '"') {
          tripled = text[i + 1] === c && text[i + 2] === c;
          if (tripled) i += 2;
          quote = c;
        } else if (c === "[" || c === "(" || c === "{") nesting++;
        else if (c === "#") fail("expression part cannot include '#'", i);
        else if (nesting === 0 && "!:}=<>".includes(c)) {
          const n = text[i + 1];
          if ((c === "!" || c === "=" || c === "<" || c === ">") && n === "=") { i++; continue; }
          if (c === "<" || c === ">") continue;
          break;
        } else if (c === "]" || c === ")" || c === "}") {
          nesting--;
        }
      }
      if (quote) fail("unterminated string", start);
      if (nesting > 0 || i >= end) fail("expecting '}'", start);
      if (!text.slice(start, i).trim()) fail("empty expression not allowed", i);
      const tokens = tokenize(this.src, start, i, "expression");
      const inner = new Parser(this.src, tokens);
      const value = inner.parenthesized(null, start);
      let format_spec = null;
      if (text[i] === "=") { i++; while (i < end && /\s/.test(text[i])) i++; }
      if (text[i] === "!") {
        if (!"sra".includes(text[i + 1] || "x") || i + 1 >= end) fail("invalid conversion character: expected 's', 'r', or 'a'", i + 1);
        i += 2;
      }
      if (text[i] === ":") {
        const spec = [];
        const specStart = i + 1;
        i = this.fstringFields(specStart, end, raw, depth + 1, spec);
        format_spec = { type: "JoinedStr", s: specStart, values: spec };
      }
      if (text[i] !== "}") fail("expecting '}'", i < end ? i : start);
      fields.push({ type: "FormattedValue", s: start, value, format_spec });
      return i + 1;
    }
  }

  /**
   * Python rejects a string whose escapes cannot be decoded (a truncated \\x, \\u, \\U or \\N{...}).
   * Checks the escapes that start in [from, to) of text; returns where the last one ends.
   */
  function checkEscapes(text, from, to, bytes, offset) {
    let after = to;
    for (let i = text.indexOf("\\", from); i !== -1 && i < to; i = text.indexOf("\\", after)) {
      const c = text[i + 1], digits = { x: 2, u: bytes ? 0 : 4, U: bytes ? 0 : 8 }[c];
      after = i + 2;
      if (digits) {
        if (!new RegExp(`^[0-9a-fA-F]{${digits}}`).test(text.slice(after, after + digits))) {
          throw new PySyntaxError(`(unicode error) truncated \\${c}${"X".repeat(digits)} escape`, offset);
        }
        after += digits;
      } else if (c === "N" && !bytes) {
        const close = text.indexOf("}", i);
        if (text[i + 2] !== "{" || close === -1 || close === i + 3) throw new PySyntaxError("(unicode error) malformed \\N character escape", offset);
        after = close + 1;
      }
    }
    return Math.max(after, to);
  }

  function fstringError(message, offset) {
    return Object.assign(new PySyntaxError("f-string: " + message, offset), { inFstring: true });
  }

  /** The value of a plain string literal's body (enough for names given to register_buffer). */
  function literalValue(body, raw) {
    if (raw || !body.includes("\\")) return body;
    const simple = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', "\n": "", a: "\x07", b: "\b", f: "\f", v: "\v", 0: "\0" };
    return body.replace(/\\([\s\S])/g, (m, c) => (c in simple ? simple[c] : m));
  }

  /** Parse a module: its statements, or a PySyntaxError. */
  function parseModule(src) {
    const tokens = tokenize(src), parser = new Parser(src, tokens);
    try {
      return parser.module();
    } catch (error) {
      // As Python does after a parser error: it reads on, and an error of its tokenizer further
      // on wins; so does a bracket still open from a line before the error.
      const last = tokens[tokens.length - 1];
      if (!(error instanceof PySyntaxError) || error.final || last.t !== "ERROR" || last.error === error) throw error;
      if (!last.error.deferred) throw last.error;
      if (last.open && src.line(last.open.s) < src.line(tokens[parser.furthest].s)) {
        throw new PySyntaxError(`'${last.open.v}' was never closed`, last.open.s);
      }
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 2. The scan: FileScanner of mapsite/scan.py, ported statement for statement
  // ---------------------------------------------------------------------------------------------

  const ROOTS = new Set(["torch"]);
  const words = (text) => new Set(text.trim().split(/\s+/));
  const TORCH_MODULES = words(`
torch torch.nn torch.nn.functional torch.nn.init torch.nn.utils torch.nn.utils.rnn torch.nn.utils.parametrize
torch.nn.utils.prune torch.nn.parallel torch.nn.modules torch.nn.parameter torch.nn.attention torch.optim
torch.optim.lr_scheduler torch.optim.swa_utils torch.utils torch.utils.data torch.utils.checkpoint
torch.utils.tensorboard torch.utils.hooks torch.cuda torch.cuda.amp torch.amp torch.cpu torch.mps torch.autograd
torch.autograd.functional torch.linalg torch.fft torch.special torch.sparse torch.masked torch.nested
torch.distributed torch.distributions torch.jit torch.onnx torch.backends torch.backends.cudnn torch.backends.mps
torch.backends.cuda torch.multiprocessing torch.random torch.testing torch.hub torch.quantization torch.ao
torch.export torch.func torch.compiler torch.profiler torch.fx torch.overrides torch.types torch.library
torch.signal torch.futures torch.package torch.monitor torch.xpu`);
  const TENSOR_FUNCTION_NAMESPACES = words(
    "torch torch.nn.functional torch.nn.init torch.linalg torch.fft torch.special torch.Tensor");
  const NOT_TENSOR_FUNCTIONS = words(`
device manual_seed seed initial_seed save load no_grad enable_grad inference_mode set_grad_enabled is_grad_enabled
is_inference_mode_enabled is_tensor is_storage is_floating_point is_complex is_nonzero is_same_size numel
get_default_dtype set_default_dtype set_default_device get_default_device set_default_tensor_type set_printoptions
compile use_deterministic_algorithms are_deterministic_algorithms_enabled set_num_threads get_num_threads
set_num_interop_threads get_num_interop_threads set_rng_state set_float32_matmul_precision
get_float32_matmul_precision autocast typename finfo iinfo result_type promote_types can_cast equal allclose
broadcast_shapes set_anomaly_enabled is_anomaly_enabled get_device item tolist dim ndimension nelement
element_size size backward stride data_ptr is_contiguous register_hook numpy`);
  const TENSOR_CLASSES = words(`
torch.Tensor torch.FloatTensor torch.DoubleTensor torch.HalfTensor torch.BFloat16Tensor torch.LongTensor
torch.IntTensor torch.ShortTensor torch.CharTensor torch.ByteTensor torch.BoolTensor torch.nn.Parameter
torch.nn.parameter.Parameter`);
  const NOT_TENSOR_MEMBERS = words(`
item tolist numpy size dim ndimension ndim numel nelement element_size backward stride data_ptr is_contiguous
is_floating_point is_complex get_device register_hook storage untyped_storage shape dtype device layout
requires_grad is_leaf is_cuda is_sparse names equal grad_fn`);
  const REGISTERING = words("register_buffer register_parameter add_module register_module");
  const CHAINING_METHODS = words("to cuda cpu train eval float double half bfloat16 requires_grad_ type share_memory");

  // Values a name can hold, as in scan.py: null (unknown), or {k: kind, v}.
  const REF = 0, TENSOR_KIND = 1, INST = 2, CLASS = 3, OTHER = 4, TUPLE = 5;
  const TENSOR = Object.freeze({ k: TENSOR_KIND, v: null });
  const OTHER_VALUE = Object.freeze({ k: OTHER, v: null });
  const MISSING = Symbol("missing");
  const KNOWN = "known", POSSIBLE = "possible";
  const ref = (path) => ({ k: REF, v: path });

  /** Python's == on two values (UserClass by identity). */
  function same(a, b) {
    if (a === b) return true;
    if (a === null || b === null || a === MISSING || b === MISSING || a.k !== b.k) return false;
    if (a.k === TUPLE) return a.v.length === b.v.length && a.v.every((x, i) => same(x, b.v[i]));
    return a.v === b.v;
  }

  const isUpper = (c) => c.toLowerCase() !== c && c.toUpperCase() === c;   // str.isupper() of one character
  const isLower = (s) => s.toUpperCase() !== s && s.toLowerCase() === s;    // str.islower()

  class UserClass {
    constructor(name, base, bases) {
      this.name = name;
      this.base = base;
      this.bases = bases;
      this.attrs = new Map();
    }
    find(attr) {
      if (this.attrs.has(attr)) return this.attrs.get(attr);
      for (const base of this.bases) {
        const value = base.find(attr);
        if (value !== MISSING) return value;
      }
      return MISSING;
    }
  }

  class Scope {
    constructor(parent, isClass = false) {
      this.names = new Map();
      this.parent = parent;
      this.isClass = isClass;
    }
  }

  function callResult(path) {
    if (TENSOR_CLASSES.has(path)) return TENSOR;
    const dot = path.lastIndexOf("."), namespace = path.slice(0, Math.max(dot, 0)), name = path.slice(dot + 1);
    if (name && isUpper(name[0])) return { k: INST, v: path };
    if (TENSOR_FUNCTION_NAMESPACES.has(namespace) && !NOT_TENSOR_FUNCTIONS.has(name)) return TENSOR;
    return null;
  }

  /** One value for a name that different branches bound differently (scan.pick). */
  function pick(values) {
    const present = values.filter((v) => v !== MISSING);
    if (!present.length) return MISSING;
    const first = present[0];
    if (present.every((v) => same(v, first))) return first;
    for (const v of present) if (v !== null && (v.k === REF || v.k === CLASS || v.k === INST)) return v;
    if (present.every((v) => v !== null && v.k === OTHER)) return OTHER_VALUE;
    return null;
  }

  function merge(states) {
    if (states.length === 1) return states[0];
    const merged = new Map(states[0]);
    const keys = new Set();
    const get = (map, k) => (map.has(k) ? map.get(k) : MISSING);
    for (const state of states.slice(1)) {
      for (const [k, v] of state) if (get(merged, k) !== v) keys.add(k);
      for (const k of merged.keys()) if (!state.has(k)) keys.add(k);
    }
    for (const key of keys) {
      const value = pick(states.map((state) => get(state, key)));
      if (value === MISSING) merged.delete(key); else merged.set(key, value);
    }
    return merged;
  }

  class FileScanner {
    constructor(src, tensorMethods = new Set(), knownApis = new Set()) {
      this.src = src;
      this.tensorMethods = tensorMethods;
      this.knownApis = knownApis;
      this.uses = [];
      this.modules = new Set(TORCH_MODULES);
      this.stars = [];
      this.pending = [];
      this.inherited = [];
      this.scope = new Scope(null);
    }

    run(body) {
      this.body(body);
      for (let i = 0; i < this.pending.length; i++) this.functionBody(...this.pending[i]);
      for (const [cls, attr, node] of this.inherited) {
        if (cls.find(attr) === MISSING) this.record(`${cls.base}.${attr}`, node);
      }
      this.uses.sort((a, b) => a.line - b.line || a.column - b.column);
      return this.uses;
    }

    record(api, node, receiver = KNOWN) {
      const at = node.type === "Attribute" ? node.at : node.s;   // an attribute: where its name is
      this.uses.push({ api, line: this.src.line(at), column: this.src.byteColumn(at), receiver });
    }

    isModule(path) { return this.modules.has(path); }

    // -- names --
    lookup(name) {
      let scope = this.scope;
      if (scope.names.has(name)) return scope.names.get(name);
      for (scope = scope.parent; scope; scope = scope.parent) {
        if (!scope.isClass && scope.names.has(name)) return scope.names.get(name);   // class bodies are not visible in methods
      }
      for (const module of this.stars) {
        const candidate = `${module}.${name}`;
        if (this.knownApis.has(candidate)) return ref(candidate);
      }
      return null;
    }

    bind(target, value) {
      switch (target.type) {
        case "Name":
          this.scope.names.set(target.id, value);
          break;
        case "Tuple": case "List": {
          const elements = target.elts;
          if (value !== null && value.k === TUPLE && value.v.length === elements.length && !elements.some((e) => e.type === "Starred")) {
            elements.forEach((element, i) => this.bind(element, value.v[i]));
          } else {
            const item = value === TENSOR ? TENSOR : null;   // unpacking a tensor (torch.max, chunk) gives tensors
            for (const element of elements) this.bind(element, item);
          }
          break;
        }
        case "Attribute": {
          const base = this.expr(target.value, !isChainLink(target.value));
          if (base !== null && base.k === INST && base.v instanceof UserClass) base.v.attrs.set(target.attr, value);
          else this.member(base, target, true);
          break;
        }
        case "Subscript":
          this.expr(target.value);
          this.expr(target.slice);
          break;
        case "Starred":
          this.bind(target.value, null);
          break;
      }
    }

    // -- statements --
    body(statements) {
      for (const statement of statements) this.statement(statement);
    }

    statement(node) {
      switch (node.type) {
        case "Import": return this.importStatement(node);
        case "ImportFrom": return this.importFrom(node);
        case "Assign": {
          const value = this.expr(node.value);
          for (const target of node.targets) this.bind(target, value);
          return;
        }
        case "AnnAssign": return this.annAssign(node);
        case "AugAssign":
          this.expr(node.target);
          this.expr(node.value);
          return;
        case "Expr": case "Return":
          if (node.value !== null) this.expr(node.value);
          return;
        case "If":
          this.expr(node.test);
          this.branches([node.body, node.orelse]);
          return;
        case "For": return this.forStatement(node);
        case "While":
          this.expr(node.test);
          this.branches([node.body], true);
          this.body(node.orelse);
          return;
        case "With":
          for (const item of node.items) {
            this.expr(item.context_expr);
            if (item.optional_vars !== null) this.bind(item.optional_vars, null);
          }
          this.body(node.body);
          return;
        case "Try": return this.tryStatement(node);
        case "FunctionDef": return this.functionDef(node, null);
        case "ClassDef": return this.classDef(node);
        case "Delete":
          for (const target of node.targets) {
            if (target.type === "Name") this.scope.names.set(target.id, null);
            else this.bind(target, null);
          }
          return;
        case "Match": return this.matchStatement(node);
        case "Raise":
          if (node.exc) this.expr(node.exc);
          if (node.cause) this.expr(node.cause);
          return;
        case "Assert":
          this.expr(node.test);
          if (node.msg) this.expr(node.msg);
          return;
        default:   // Pass, Break, Continue, Global, Nonlocal
          return;
      }
    }

    importStatement(node) {
      for (const alias of node.names) {
        const root = alias.name.split(".")[0];
        if (ROOTS.has(root)) {
          const parts = alias.name.split(".");
          for (let i = 1; i <= parts.length; i++) this.modules.add(parts.slice(0, i).join("."));
          if (alias.asname) this.scope.names.set(alias.asname, ref(alias.name));
          else this.scope.names.set(root, ref(root));
        } else {
          this.scope.names.set(alias.asname || root, OTHER_VALUE);
        }
      }
    }

    importFrom(node) {
      const module = node.module || "";
      const torch = node.level === 0 && ROOTS.has(module.split(".")[0]);
      for (const alias of node.names) {
        if (alias.name === "*") {
          if (torch) this.stars.push(module);
          continue;
        }
        this.scope.names.set(alias.asname || alias.name, torch ? ref(`${module}.${alias.name}`) : OTHER_VALUE);
      }
    }

    annAssign(node) {
      const tensor = this.annotation(node.annotation);
      let value = node.value !== null ? this.expr(node.value) : MISSING;
      if (tensor) value = TENSOR;
      if (value !== MISSING) this.bind(node.target, value);
      else if (node.target.type !== "Name") this.bind(node.target, null);
    }

    /** Run each body from the same starting state; a name then holds what any branch gave it. */
    branches(bodies, keepBefore = false) {
      const before = this.scope.names;
      const states = keepBefore ? [before] : [];
      for (const body of bodies) {
        this.scope.names = new Map(before);
        this.body(body);
        states.push(this.scope.names);
      }
      this.scope.names = merge(states);
    }

    forStatement(node) {
      const iterated = this.expr(node.iter);
      const before = this.scope.names;
      this.scope.names = new Map(before);
      this.bind(node.target, iterated === TENSOR ? TENSOR : null);
      this.body(node.body);
      this.scope.names = merge([before, this.scope.names]);
      this.body(node.orelse);
    }

    tryStatement(node) {
      const before = this.scope.names;
      this.scope.names = new Map(before);
      this.body(node.body);
      const afterBody = this.scope.names;
      const start = merge([before, afterBody]);   // a handler may start anywhere in the body
      const states = [];
      for (const handler of node.handlers) {
        this.scope.names = new Map(start);
        if (handler.type !== null) this.expr(handler.type);
        if (handler.name) this.scope.names.set(handler.name, null);
        this.body(handler.body);
        states.push(this.scope.names);
      }
      this.scope.names = afterBody;
      this.body(node.orelse);
      this.scope.names = merge([this.scope.names, ...states]);
      this.body(node.finalbody);
    }

    matchStatement(node) {
      this.expr(node.subject);
      const bodies = [];
      for (const c of node.cases) {
        for (const e of c.pattern) this.expr(e);
        if (c.guard !== null) this.expr(c.guard);
        bodies.push(c.body);
      }
      this.branches(bodies, true);
    }

    // -- functions and classes --
    functionDef(node, owner) {
      const decorators = new Set();
      for (const decorator of node.decorator_list) {
        this.expr(decorator);
        if (decorator.type === "Name") decorators.add(decorator.id);
      }
      const params = this.parameters(node.args);
      if (node.returns !== null) this.expr(node.returns);
      this.scope.names.set(node.name, OTHER_VALUE);
      owner = owner !== null && !decorators.has("staticmethod") ? owner : null;
      this.pending.push([node, this.scope, params, owner, decorators.has("classmethod")]);
    }

    /** Defaults and annotations, evaluated where the function is defined; torch.Tensor-annotated parameters hold tensors. */
    parameters(args) {
      for (const d of args.defaults) this.expr(d);
      for (const d of args.kw_defaults) if (d !== null) this.expr(d);
      const params = [];
      for (const arg of [...args.posonlyargs, ...args.args, args.vararg, ...args.kwonlyargs, args.kwarg]) {
        if (arg === null) continue;
        const tensor = arg.annotation !== null && this.annotation(arg.annotation);
        params.push([arg.arg, tensor && arg !== args.vararg && arg !== args.kwarg ? TENSOR : null]);
      }
      return params;
    }

    functionBody(node, parent, params, owner, isClassmethod) {
      const saved = this.scope;
      this.scope = new Scope(parent);
      for (const [name, value] of params) this.scope.names.set(name, value);
      const first = (node.args.posonlyargs.length ? node.args.posonlyargs : node.args.args)[0];
      if (owner !== null && first) this.scope.names.set(first.arg, { k: isClassmethod ? CLASS : INST, v: owner });
      this.body(node.body);
      this.scope = saved;
    }

    classDef(node) {
      for (const decorator of node.decorator_list) this.expr(decorator);
      let basePath = null;
      const localBases = [];
      for (const base of node.bases) {
        const value = this.expr(base);
        if (value !== null && value.k === CLASS) {
          localBases.push(value.v);
          basePath = basePath || value.v.base;
        } else if (value !== null && value.k === REF) {
          basePath = basePath || value.v;
        }
      }
      for (const keyword of node.keywords) this.expr(keyword.value);
      const cls = new UserClass(node.name, basePath, localBases);
      const saved = this.scope;
      this.scope = new Scope(saved, true);
      for (const statement of node.body) {
        if (statement.type === "FunctionDef") this.functionDef(statement, cls);
        else this.statement(statement);
      }
      for (const [name, value] of this.scope.names) if (!cls.attrs.has(name)) cls.attrs.set(name, value);
      this.scope = saved;
      this.scope.names.set(node.name, { k: CLASS, v: cls });
    }

    /** Evaluate an annotation (a use like any other); is it torch.Tensor, Optional[...] of it, or `| None`? */
    annotation(node) {
      const value = this.expr(node);
      if (value !== null && value.k === REF && TENSOR_CLASSES.has(value.v)) return true;
      if (node.type === "Subscript" && (node.value.type === "Name" || node.value.type === "Attribute")) {
        const wrapper = node.value.type === "Name" ? node.value.id : node.value.attr;
        if (wrapper === "Optional") return this.resolvesToTensor(node.slice);
      }
      if (node.type === "BinOp" && node.op === "|") {
        const sides = [node.left, node.right];
        return sides.some((s) => this.resolvesToTensor(s)) && sides.some((s) => s.type === "Constant" && s.kind === "None");
      }
      return false;
    }

    resolvesToTensor(node) {
      const path = this.staticPath(node);
      return path !== null && TENSOR_CLASSES.has(path);
    }

    staticPath(node) {
      if (node.type === "Name") {
        const value = this.lookup(node.id);
        return value !== null && value.k === REF ? value.v : null;
      }
      if (node.type === "Attribute") {
        const base = this.staticPath(node.value);
        return base ? `${base}.${node.attr}` : null;
      }
      return null;
    }

    // -- expressions --
    expr(node, report = true) {
      switch (node.type) {
        case "Name": {
          const value = this.lookup(node.id);
          if (report && value !== null && value.k === REF && !this.isModule(value.v)) this.record(value.v, node);
          return value;
        }
        case "Attribute": {
          const base = this.expr(node.value, !isChainLink(node.value));   // only the whole chain is a use
          return this.member(base, node, report);
        }
        case "Call": return this.call(node);
        case "Subscript": {
          const value = this.expr(node.value);
          this.expr(node.slice);
          return value === TENSOR ? TENSOR : null;
        }
        case "BinOp": {   // `a + b + c + ...` nests to the left: walked as a loop, not as deep recursion
          const spine = [];
          let left = node;
          for (; left.type === "BinOp"; left = left.left) spine.push(left);
          let value = this.expr(left);
          for (let i = spine.length - 1; i >= 0; i--) {
            const right = this.expr(spine[i].right);
            value = value === TENSOR || right === TENSOR ? TENSOR : null;
          }
          return value;
        }
        case "UnaryOp": {
          const value = this.expr(node.operand);
          return value === TENSOR && node.op !== "not" ? TENSOR : null;
        }
        case "Compare": {
          const values = [this.expr(node.left), ...node.comparators.map((c) => this.expr(c))];
          const elementwise = !node.ops.some((op) => op === "is" || op === "is not" || op === "in" || op === "not in");
          return elementwise && values.includes(TENSOR) ? TENSOR : null;
        }
        case "IfExp": {
          this.expr(node.test);
          return pick([this.expr(node.body), this.expr(node.orelse)]);
        }
        case "Tuple": case "List":
          return { k: TUPLE, v: node.elts.map((e) => this.expr(e)) };
        case "Constant":
          return OTHER_VALUE;
        case "Dict":
          for (const k of node.keys) if (k !== null) this.expr(k);
          for (const v of node.values) this.expr(v);
          return OTHER_VALUE;
        case "Set":
          for (const e of node.elts) this.expr(e);
          return OTHER_VALUE;
        case "JoinedStr":
          for (const field of node.values) this.expr(field);
          return OTHER_VALUE;
        case "Lambda": {
          const params = this.parameters(node.args);
          const saved = this.scope;
          this.scope = new Scope(saved);
          for (const [name, value] of params) this.scope.names.set(name, value);
          this.expr(node.body);
          this.scope = saved;
          return OTHER_VALUE;
        }
        case "ListComp": case "SetComp": case "GeneratorExp": case "DictComp":
          return this.comprehension(node);
        case "NamedExpr": {
          const value = this.expr(node.value);
          this.bind(node.target, value);
          return value;
        }
        case "FormattedValue":
          this.expr(node.value);
          if (node.format_spec) this.expr(node.format_spec);
          return null;
        case "BoolOp":
          for (const v of node.values) this.expr(v);
          return null;
        case "Slice":
          for (const part of [node.lower, node.upper, node.step]) if (part) this.expr(part);
          return null;
        default:   // Starred, Await, Yield, YieldFrom
          if (node.value) this.expr(node.value);
          return null;
      }
    }

    /** The value of `base.attr`, recording the use it makes of a torch API. */
    member(base, node, report) {
      const attr = node.attr;
      if (base === null) {
        if (this.tensorMethods.has(attr)) this.record(`torch.Tensor.${attr}`, node, POSSIBLE);
        return null;
      }
      switch (base.k) {
        case REF: {
          const path = `${base.v}.${attr}`;
          if (report && !this.isModule(path)) this.record(path, node);
          return ref(path);
        }
        case TENSOR_KIND:
          if (attr.startsWith("__")) return null;
          this.record(`torch.Tensor.${attr}`, node);
          return NOT_TENSOR_MEMBERS.has(attr) ? null : TENSOR;
        case INST: case CLASS: {
          const cls = base.v;
          if (typeof cls === "string") {
            this.record(`${cls}.${attr}`, node);
            return null;
          }
          const value = cls.find(attr);
          if (value !== MISSING) return value;
          if (cls.base !== null && !attr.startsWith("__")) this.inherited.push([cls, attr, node]);
          return null;
        }
      }
      return null;
    }

    call(node) {
      const func = node.func;
      let base = null, value;
      if (func.type === "Attribute") {
        base = this.expr(func.value, !isChainLink(func.value));
        value = this.member(base, func, true);
      } else {
        value = this.expr(func);
      }
      for (const argument of node.args) this.expr(argument);
      for (const keyword of node.keywords) this.expr(keyword.value);
      const first = node.args[0];
      if (base !== null && base.k === INST && base.v instanceof UserClass && REGISTERING.has(func.attr)
          && first && first.type === "Constant" && first.kind === "str") {
        const registered = func.attr === "register_buffer" || func.attr === "register_parameter" ? TENSOR : null;
        if (!base.v.attrs.has(first.value)) base.v.attrs.set(first.value, registered);
      }
      if (base !== null) {
        if (base === TENSOR) return NOT_TENSOR_MEMBERS.has(func.attr) ? null : TENSOR;   // a tensor method
        if (base.k === INST && CHAINING_METHODS.has(func.attr) && value === null) return base;
      }
      if (value === null) return null;
      if (value.k === REF) return callResult(value.v);
      if (value.k === CLASS) return { k: INST, v: value.v };
      if (value.k === INST && typeof value.v === "string" && value.v.startsWith("torch.nn.")) return TENSOR;   // a torch.nn layer or loss
      return null;
    }

    comprehension(node) {
      const generators = node.generators;
      const first = this.expr(generators[0].iter);   // evaluated in the enclosing scope
      const saved = this.scope;
      this.scope = new Scope(saved);
      generators.forEach((generator, i) => {
        const iterated = i === 0 ? first : this.expr(generator.iter);
        this.bind(generator.target, iterated === TENSOR ? TENSOR : null);
        for (const condition of generator.ifs) this.expr(condition);
      });
      if (node.type === "DictComp") {
        this.expr(node.key);
        this.expr(node.value);
      } else {
        this.expr(node.elt);
      }
      this.scope = saved;
      return OTHER_VALUE;
    }
  }

  const isChainLink = (node) => node.type === "Name" || node.type === "Attribute";

  /**
   * The uses of PyTorch APIs in one file's text: {uses} or {problem} (a syntax error, with its line
   * and column, or code nested deeper than this browser can follow).
   */
  function scanSource(text, tensorMethods, knownApis) {
    const src = new Source(text);
    try {
      const body = parseModule(src);
      return { uses: new FileScanner(src, tensorMethods, knownApis).run(body) };
    } catch (error) {
      if (error instanceof PySyntaxError) {
        return { problem: { kind: "syntax-error", message: `syntax error: ${error.message}`,
          line: src.line(error.offset), column: src.charColumn(error.offset) } };
      }
      if (error instanceof RangeError) {
        return { problem: { kind: "syntax-error", message: "cannot be parsed: the code is nested too deeply for this page (the command line reads it)" } };
      }
      return { problem: { kind: "scanner-error", message: `the scanner failed on this file (${error.name}: ${error.message}); please report it with the file` } };
    }
  }

  // ---------------------------------------------------------------------------------------------
  // 3. The catalogue and the report (load_catalogue, build_report and summary_line of scan.py)
  // ---------------------------------------------------------------------------------------------

  const STATUS_ORDER = { consistent: 0, renamed: 1, differs: 2, none: 3 };
  // scan.py's MEMBER_BASES: where a member of a torch class is documented when the class has no entry for it.
  const MEMBER_BASES = [
    ["torch.optim", "torch.optim.Optimizer"],
    ["torch.optim.lr_scheduler", "torch.optim.lr_scheduler.LRScheduler"],
    ["torch.nn", "torch.nn.Module"],
  ];
  const STATUS_LABELS = { consistent: "consistent", renamed: "renamed", differs: "differs", none: "no direct equivalent" };
  const NO_CHANGE = new Set(["consistent"]);
  const UNCOVERED_LABEL = "not on the site yet";

  class Catalogue {
    constructor(data) {
      if (!data || !Array.isArray(data.mappings)) throw new Error("mappings.json has no list of mappings");
      this.verifiedWith = data.verified_with || {};
      this.entries = new Map();
      for (const m of data.mappings) {
        if (typeof m.pytorch !== "string" || typeof m.page !== "string" || !Array.isArray(m.equivalents)
            || !m.equivalents.every((eq) => typeof eq.status === "string")) {
          throw new Error(`mappings.json has an entry without a name, page or status (${m && m.pytorch})`);
        }
        this.entries.set(m.pytorch, m);
      }
      this.tensorMethods = new Set([...this.entries.keys()].filter((a) => a.startsWith("torch.Tensor.")).map((a) => a.slice(13)));
      this.knownApis = new Set(this.entries.keys());
    }

    /** torch.nn.modules.linear.Linear under the name the catalogue uses (torch.nn.Linear). */
    canonical(api) {
      if (this.entries.has(api)) return api;
      const parts = api.split(".");
      const member = parts[parts.length - 1], owner = parts.slice(0, -2).join(".");
      if (parts.length > 2 && isUpper(parts[parts.length - 2].slice(0, 1) || "a") && !isUpper(member.slice(0, 1) || "a")) {
        for (const [namespace, base] of MEMBER_BASES) {
          if (owner === namespace && this.entries.has(`${base}.${member}`)) return `${base}.${member}`;
        }
      }
      if (!isUpper(parts[parts.length - 1].slice(0, 1) || "a")) return api;
      for (let i = parts.length - 2; i > 0; i--) {
        if (!parts.slice(i, -1).every(isLower)) break;
        const candidate = [...parts.slice(0, i), parts[parts.length - 1]].join(".");
        if (this.entries.has(candidate)) return candidate;
      }
      return api;
    }
  }

  const statusRank = (status) => (status === null ? [2, 0, ""] : status in STATUS_ORDER ? [0, STATUS_ORDER[status], ""] : [1, 0, status]);
  const compareRank = (a, b) => {
    const x = statusRank(a), y = statusRank(b);
    return x[0] - y[0] || x[1] - y[1] || (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0);
  };
  const statusLabel = (status) => (status === null ? UNCOVERED_LABEL : STATUS_LABELS[status] || status);
  const byCodePoint = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const plural = (count, word) => `${count} ${count === 1 ? word : word + "s"}`;

  /** round(x, 4) as Python gives it. */
  const round4 = (x) => Number(x.toFixed(4));

  /** f"{share:.0%}": Python rounds the exact value half to even. */
  function percent(share) {
    const v = share * 100, floor = Math.floor(v), rest = v - floor;
    return (rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor) + "%";
  }

  function apiRecord(api, uses, catalogue, siteUrl) {
    const entry = catalogue.entries.get(api);
    const record = { pytorch: api, covered: entry !== undefined };
    if (entry === undefined) {
      record.status = null;
      record.label = UNCOVERED_LABEL;
    } else {
      const equivalents = entry.equivalents.map((eq) => {
        const item = {};
        for (const k of ["api", "status", "note", "translation", "composite", "verdict"]) if (k in eq) item[k] = eq[k];
        item.label = statusLabel(eq.status);
        return item;
      });
      const status = entry.equivalents.map((eq) => eq.status).reduce((best, s) => (compareRank(s, best) < 0 ? s : best));
      Object.assign(record, {
        status, label: statusLabel(status), namespace: entry.namespace || "", summary: entry.summary || "",
        url: joinUrl(siteUrl, entry.page), evidence_url: joinUrl(siteUrl, entry.evidence || entry.page), equivalents,
      });
    }
    record.uses = uses.map(([file, u]) => ({ file, line: u.line, column: u.column }))
      .sort((a, b) => byCodePoint(a.file, b.file) || a.line - b.line || a.column - b.column);
    return record;
  }

  const joinUrl = (base, page) => base.replace(/\/+$/, "") + "/" + page.replace(/^\/+/, "");

  /**
   * The report of files [{name, text}] (or {name, problem} for a file that could not be read),
   * in the shape of `python -m mapsite.scan --json`.
   */
  function buildReport(files, catalogue, siteUrl) {
    const scanned = [], errors = [], known = new Map(), possible = new Map();
    let lines = 0;
    for (const file of files) {
      let result = file.problem ? { problem: file.problem } : scanSource(file.text, catalogue.tensorMethods, catalogue.knownApis);
      if (result.problem) {
        errors.push(Object.assign({ path: file.name }, result.problem));
        continue;
      }
      scanned.push(file.name);
      lines += (file.text.match(/\n/g) || []).length + (file.text && !file.text.endsWith("\n") ? 1 : 0);
      for (const use of result.uses) {
        const api = catalogue.canonical(use.api);
        const into = use.receiver === POSSIBLE ? possible : known;
        if (!into.has(api)) into.set(api, []);
        into.get(api).push([file.name, use]);
      }
    }
    const records = (map) => [...map.keys()].sort(byCodePoint).map((api) => apiRecord(api, map.get(api), catalogue, siteUrl));
    const apis = records(known), maybe = records(possible);
    const counts = new Map();
    for (const r of apis) {
      if (!counts.has(r.status)) counts.set(r.status, { apis: 0, uses: 0 });
      counts.get(r.status).apis += 1;
      counts.get(r.status).uses += r.uses.length;
    }
    const totalUses = apis.reduce((n, r) => n + r.uses.length, 0);
    const noChange = apis.filter((r) => NO_CHANGE.has(r.status)).reduce((n, r) => n + r.uses.length, 0);
    const summary = {
      files: scanned.length, lines, apis: apis.length, uses: totalUses,
      by_status: [...counts.keys()].sort(compareRank).map((s) => Object.assign({ status: s, label: statusLabel(s) }, counts.get(s))),
      no_change_uses: noChange,
      no_change_share: totalUses ? round4(noChange / totalUses) : null,
      possible_tensor_methods: { apis: maybe.length, uses: maybe.reduce((n, r) => n + r.uses.length, 0) },
    };
    summary.line = summaryLine(summary);
    return {
      tool: "mapsite.scan", schema_version: 1,
      catalogue: { path: "mappings.json", count: catalogue.entries.size, verified_with: catalogue.verifiedWith },
      site_url: siteUrl, files: { scanned, lines }, errors, apis, possible_tensor_methods: maybe, summary,
    };
  }

  function summaryLine(summary) {
    if (!summary.uses) return `No PyTorch API found in ${plural(summary.files, "file")}.`;
    const parts = summary.by_status.map((s) => `${s.apis} ${s.label}`).join(", ");
    return `${plural(summary.apis, "PyTorch API")} used ${plural(summary.uses, "time")}: ${parts}; ` +
      `${summary.no_change_uses} of ${summary.uses} uses (${percent(summary.no_change_uses / summary.uses)}) need no change.`;
  }

  const core = { Source, tokenize, parseModule, scanSource, Catalogue, buildReport, PySyntaxError };
  if (typeof module === "object" && module.exports) module.exports = core;
  if (typeof document === "undefined") return;

  // ---------------------------------------------------------------------------------------------
  // 4. The page
  // ---------------------------------------------------------------------------------------------

  const PASTED = "pasted code";
  const SKIPPED_FOLDERS = new Set(["__pycache__", "node_modules", "site-packages"]);
  const STATUS_NOTES = {
    consistent: "Call it the same way in MindSpore: the build checked that the results agree.",
    renamed: "The same result once the call is rewritten (another name, argument names or order): use the translation.",
    differs: "The call or the result differs: read the note, and use the translation.",
    none: "No single MindSpore API does this: the entry gives the composite that replaces it.",
    null: "The site has no entry for these yet.",
  };
  const EXAMPLE = `import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.conv(x))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


data = TensorDataset(torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,)))
loader = DataLoader(data, batch_size=16, shuffle=True)
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
loss_fn = nn.CrossEntropyLoss()

for images, labels in loader:   # torch.cat(...) in a comment does not count
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
scheduler.step()
print(f"last loss {loss.item():.3f}, logged as 'torch.save' in a string")
`;

  const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const cssStatus = (status) => (status === null ? "uncovered" : status.replace(/[^a-z0-9-]/gi, "-"));
  const badge = (status, label) => `<span class="mapping-status status-${cssStatus(status)}">${escapeHtml(label)}</span>`;
  const breakable = (name) => escapeHtml(name).replace(/\./g, ".<wbr>");

  /** train.py:3, 12, 40; model.py:7 (scan.compact_uses); the pasted code's as "lines 3, 12". */
  function compactUses(uses) {
    const groups = new Map();
    for (const use of uses) {
      if (!groups.has(use.file)) groups.set(use.file, []);
      const lines = groups.get(use.file);
      if (lines[lines.length - 1] !== use.line) lines.push(use.line);
    }
    return [...groups].map(([file, lines]) => (file === PASTED ? `${lines.length === 1 ? "line" : "lines"} ${lines.join(", ")}`
      : `${file}:${lines.join(", ")}`)).join("; ");
  }

  function describeError(error) {
    let where = error.path;
    if (error.line != null) where += `:${error.line}`;
    if (error.line != null && error.column != null) where += `:${error.column}`;
    return `${where}: ${error.message}`;
  }

  // -- reading files as scan.read_source does --------------------------------------------------

  /** Where UTF-8 decoding of bytes first fails, or -1. */
  function firstBadUtf8(bytes) {
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i];
      const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
      if (n < 0) return i;
      for (let k = 1; k <= n; k++) {
        const c = bytes[i + k];
        const lo = k === 1 && b === 0xe0 ? 0xa0 : k === 1 && b === 0xf0 ? 0x90 : 0x80;
        const hi = k === 1 && b === 0xed ? 0x9f : k === 1 && b === 0xf4 ? 0x8f : 0xbf;
        if (c === undefined || c < lo || c > hi) return i;
      }
      i += n + 1;
    }
    return -1;
  }

  /** A file's text, decoded as Python would (UTF-8 unless it declares another encoding), or its problem. */
  function decode(name, bytes) {
    if (bytes.includes(0)) return { name, problem: { kind: "binary", message: "binary file (it contains NUL bytes), not Python source" } };
    let encoding = "utf-8";
    const head = new TextDecoder("latin1").decode(bytes.subarray(0, 400)).split("\n").slice(0, 2);
    const cookie = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;
    const match = cookie.exec(head[0] || "") || (/^[ \t\f]*(#.*)?\r?$/.test(head[0] || "") && cookie.exec(head[1] || ""));
    if (match) {   // the names tokenize._get_normal_name gives; browsers know the rest under Python's names
      encoding = match[1];
      const name = encoding.slice(0, 12).toLowerCase().replace(/_/g, "-");
      if (name === "utf-8" || name.startsWith("utf-8-")) encoding = "utf-8";
      else if (/^(latin-1|iso-8859-1|iso-latin-1)(-|$)/.test(name)) encoding = "iso-8859-1";
    }
    if (encoding === "utf-8") {
      const bad = firstBadUtf8(bytes);
      if (bad !== -1) {
        let line = 1, lineStart = 0;
        for (let i = 0; i < bad; i++) if (bytes[i] === 10) { line++; lineStart = i + 1; }
        return { name, problem: { kind: "not-utf8", line, column: bad - lineStart + 1,
          message: `not UTF-8: byte 0x${bytes[bad].toString(16).padStart(2, "0")} cannot be decoded; save the file as UTF-8` } };
      }
      return { name, text: new TextDecoder("utf-8").decode(bytes) };
    }
    try {
      return { name, text: new TextDecoder(encoding, { fatal: true }).decode(bytes) };
    } catch (error) {
      const unknown = error instanceof RangeError;
      return { name, problem: { kind: "not-utf8", message: unknown ? `declares an unknown encoding '${encoding}'` : `cannot be decoded as ${encoding}` } };
    }
  }

  const readFile = (file, name) => file.arrayBuffer().then((buffer) => decode(name, new Uint8Array(buffer)));

  /** The files of a dropped folder, as the command line collects them: .py files, hidden folders, caches and virtual environments skipped. */
  function readFolder(entry) {
    const entries = () => new Promise((resolve, reject) => {
      const reader = entry.createReader(), all = [];
      const more = () => reader.readEntries((batch) => (batch.length ? (all.push(...batch), more()) : resolve(all)), reject);
      more();
    });
    return entries().then((children) => {
      if (children.some((c) => c.isFile && c.name === "pyvenv.cfg")) return [];
      children.sort((a, b) => byCodePoint(a.name, b.name));
      return Promise.all(children.map((child) => {
        if (child.isDirectory) {
          return child.name.startsWith(".") || SKIPPED_FOLDERS.has(child.name) ? [] : readFolder(child);
        }
        if (!child.name.endsWith(".py")) return [];
        return new Promise((resolve, reject) => child.file(resolve, reject))
          .then((file) => readFile(file, child.fullPath.replace(/^\//, "")));
      })).then((lists) => lists.flat());
    });
  }

  // -- the report as HTML --------------------------------------------------------------------------

  function apiItem(record, kind, name) {
    const title = `<code>${breakable(name || record.pytorch)}</code>`;
    const head = record.covered ? `<a href="${escapeHtml(record.url)}">${title}</a>` : title;
    const parts = [`<div class="cyc-api-head">${head} ${badge(record.status, record.label)}`
      + ` <span class="cyc-count">${plural(record.uses.length, "use")}</span></div>`];
    if (record.summary) parts.push(`<p class="cyc-api-summary">${escapeHtml(record.summary)}</p>`);
    if (record.covered) {
      const equivalents = record.equivalents.map((eq) => {
        const bits = [`<code>${breakable(eq.api || "composite")}</code> ${badge(eq.status, eq.label)}`];
        if (eq.note) bits.push(`<span class="cyc-note">${escapeHtml(eq.note)}</span>`);
        for (const key of ["translation", "composite"]) {
          if (eq[key]) bits.push(`<div class="cyc-code"><span class="cyc-code-label">${key}</span><pre><code>${escapeHtml(eq[key])}</code></pre></div>`);
        }
        return `<li>${bits.join(" ")}</li>`;
      });
      parts.push(`<ul class="cyc-equivalents" aria-label="MindSpore equivalents">${equivalents.join("")}</ul>`);
    }
    parts.push(`<p class="cyc-where">Used at <span class="cyc-uses">${escapeHtml(compactUses(record.uses))}</span></p>`);
    return `<li class="cyc-api" data-api="${escapeHtml(record.pytorch)}" data-kind="${kind}">${parts.join("")}</li>`;
  }

  function renderReport(report) {
    const s = report.summary, out = [];
    const versions = ["torch", "mindspore"].filter((k) => report.catalogue.verified_with[k])
      .map((k) => `${k} ${report.catalogue.verified_with[k]}`).join(" and ");
    out.push(`<h2 id="cyc-report-title">Report</h2>`);
    out.push(`<p class="cyc-meta">${plural(s.files, "file")} (${plural(s.lines, "line")}) checked against the `
      + `${report.catalogue.count} mappings of this site${versions ? `, every one executed with ${escapeHtml(versions)}` : ""}.</p>`);
    out.push(`<p class="cyc-summary">${escapeHtml(s.line)}</p>`);
    if (s.uses) {
      out.push(`<div class="cyc-share" aria-hidden="true"><span style="width:${(100 * s.no_change_uses / s.uses).toFixed(1)}%"></span></div>`);
      const rows = s.by_status.map((c) => `<tr><td><a href="#cyc-group-${cssStatus(c.status)}">${badge(c.status, c.label)}</a></td>`
        + `<td>${c.apis}</td><td>${c.uses}</td></tr>`);
      out.push(`<table class="cyc-counts"><caption>PyTorch APIs and uses by status</caption><thead><tr><th scope="col">Status</th>`
        + `<th scope="col">APIs</th><th scope="col">Uses</th></tr></thead><tbody>${rows.join("")}</tbody></table>`);
    }
    const groups = new Map();
    for (const record of report.apis) {
      if (!groups.has(record.status)) groups.set(record.status, []);
      groups.get(record.status).push(record);
    }
    for (const status of [...groups.keys()].sort(compareRank)) {
      const records = groups.get(status), uses = records.reduce((n, r) => n + r.uses.length, 0);
      const label = statusLabel(status);
      out.push(`<h3 id="cyc-group-${cssStatus(status)}">${escapeHtml(label[0].toUpperCase() + label.slice(1))}`
        + ` <span class="cyc-muted">· ${plural(records.length, "API")}, ${plural(uses, "use")}</span></h3>`);
      if (STATUS_NOTES[status]) out.push(`<p class="cyc-group-note">${STATUS_NOTES[status]}</p>`);
      if (status === null) {   // nothing to say but where: a table
        const rows = records.map((r) => `<tr class="cyc-api" data-api="${escapeHtml(r.pytorch)}" data-kind="known">`
          + `<td><code>${breakable(r.pytorch)}</code></td><td>${r.uses.length}</td><td class="cyc-uses">${escapeHtml(compactUses(r.uses))}</td></tr>`);
        out.push(`<table class="cyc-uncovered"><thead><tr><th scope="col">PyTorch API</th><th scope="col">Uses</th>`
          + `<th scope="col">Used at</th></tr></thead><tbody>${rows.join("")}</tbody></table>`);
      } else {
        out.push(`<ul class="cyc-apis" data-status="${cssStatus(status)}">${records.map((r) => apiItem(r, "known")).join("")}</ul>`);
      }
    }
    if (report.possible_tensor_methods.length) {
      const records = report.possible_tensor_methods, uses = records.reduce((n, r) => n + r.uses.length, 0);
      out.push(`<h3 id="cyc-group-possible">Possible tensor methods <span class="cyc-muted">· ${plural(records.length, "name")}, `
        + `${plural(uses, "use")}, not counted above</span></h3>`);
      out.push(`<p class="cyc-group-note">Called on something not known to be a tensor. If it is one, this is what the site says.</p>`);
      out.push(`<ul class="cyc-apis" data-status="possible">${records.map((r) => apiItem(r, "possible", "." + r.pytorch.split(".").pop() + ` (${r.pytorch})`)).join("")}</ul>`);
    }
    if (report.errors.length) {
      out.push(`<h3 id="cyc-group-errors">Not checked <span class="cyc-muted">· ${plural(report.errors.length, "file")}</span></h3>`);
      out.push(`<ul class="cyc-errors">${report.errors.map((e) => `<li data-path="${escapeHtml(e.path)}" data-line="${e.line == null ? "" : e.line}"><code>${escapeHtml(describeError(e))}</code></li>`).join("")}</ul>`);
    }
    return out.join("\n");
  }

  // -- wiring ----------------------------------------------------------------------------------------

  function loadCatalogue(root) {
    if (location.protocol === "file:") {   // a browser does not fetch files from disk: the build wrote the same data as a script
      return new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = root + "_static/check-your-code-data.js";
        script.onload = () => (window.mapsiteMappings ? resolve(window.mapsiteMappings) : reject(new Error("no data in check-your-code-data.js")));
        script.onerror = () => reject(new Error(`cannot read ${script.src}`));
        document.head.appendChild(script);
      });
    }
    return fetch(root + "mappings.json").then((response) => {
      if (!response.ok) throw new Error(`mappings.json: HTTP ${response.status}`);
      return response.json();
    });
  }

  function setup() {
    const form = document.getElementById("cyc-form");
    if (!form) return;
    const code = document.getElementById("cyc-code"), input = document.getElementById("cyc-files");
    const drop = document.getElementById("cyc-drop"), list = document.getElementById("cyc-file-list");
    const status = document.getElementById("cyc-status"), output = document.getElementById("cyc-report");
    const root = document.documentElement.dataset.content_root || "../";
    const siteUrl = new URL(root, location.href).href;
    let files = [];   // {name, text} or {name, problem}, added by the file input or a drop
    const api = { lastReport: null, catalogue: null };   // the last report as JSON, for the tests and the curious
    window.checkYourCode = api;

    const ready = loadCatalogue(root).then((data) => (api.catalogue = new Catalogue(data)));
    ready.catch((error) => {
      say(`The mappings could not be loaded (${error.message}), so no report can be made.`);
      status.classList.add("cyc-error");
    });

    /** A message in the live region; one that only repeats the report's summary is for screen readers alone. */
    function say(message, repeatsReport = false) {
      status.textContent = message;
      status.classList.toggle("cyc-visually-hidden", repeatsReport);
    }

    function showFiles() {
      list.hidden = !files.length;
      list.innerHTML = files.map((f, i) => `<li><code>${escapeHtml(f.name)}</code> <button type="button" class="cyc-remove" data-index="${i}" `
        + `aria-label="Remove ${escapeHtml(f.name)}">Remove</button></li>`).join("");
    }

    function check() {
      return ready.then((catalogue) => {
        const inputs = [];
        if (code.value.trim()) inputs.push({ name: PASTED, text: code.value });
        inputs.push(...files);
        if (!inputs.length) {
          say("Paste some code or add a .py file first.");
          output.hidden = true;
          return;
        }
        const report = buildReport(inputs, catalogue, siteUrl);
        api.lastReport = report;
        output.innerHTML = renderReport(report);
        output.hidden = false;
        const problems = report.errors.length ? ` ${plural(report.errors.length, "file")} could not be checked.` : "";
        say(`${report.summary.line}${problems} The report is below.`, true);
      }, () => {});
    }

    function add(read) {
      say("Reading the files…");
      return Promise.all(read).then((lists) => {
        for (const file of lists.flat()) {
          files = files.filter((f) => f.name !== file.name);
          files.push(file);
        }
        showFiles();
        return check();
      }).catch((error) => say(`The files could not be read: ${error.message}`));
    }

    form.addEventListener("submit", (event) => { event.preventDefault(); check(); });
    code.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); check(); }
    });
    input.addEventListener("change", () => {
      const chosen = [...input.files];
      input.value = "";
      add(chosen.map((file) => readFile(file, file.webkitRelativePath || file.name)));
    });
    list.addEventListener("click", (event) => {
      const button = event.target.closest(".cyc-remove");
      if (!button) return;
      files.splice(Number(button.dataset.index), 1);
      showFiles();
      (list.querySelector(".cyc-remove") || input).focus();
      check();
    });
    document.getElementById("cyc-example").addEventListener("click", () => {
      if (code.value.trim() && code.value !== EXAMPLE && !window.confirm("Replace the code in the box with the example?")) return;
      code.value = EXAMPLE;
      code.focus();
      code.setSelectionRange(0, 0);
      code.scrollTop = 0;
      check();
    });
    document.getElementById("cyc-clear").addEventListener("click", () => {
      code.value = "";
      files = [];
      showFiles();
      output.hidden = true;
      output.innerHTML = "";
      api.lastReport = null;
      say("Cleared.");
      code.focus();
    });
    // Files dropped anywhere on the form; a dropped folder is searched for .py files.
    const carriesFiles = (event) => [...event.dataTransfer.types].includes("Files");
    form.addEventListener("dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      drop.classList.add("cyc-dragging");
    });
    form.addEventListener("dragleave", (event) => {
      if (!form.contains(event.relatedTarget)) drop.classList.remove("cyc-dragging");
    });
    form.addEventListener("drop", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      drop.classList.remove("cyc-dragging");
      const items = [...(event.dataTransfer.items || [])];
      const entries = items.map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null));
      if (entries.length && entries.every(Boolean)) {
        const folder = (entry) => readFolder(entry).then((found) => (found.length ? found
          : [{ name: entry.fullPath.replace(/^\//, ""), problem: { kind: "empty-folder", message: "folder holds no Python (.py) files" } }]));
        add(entries.map((entry, i) => (entry.isDirectory ? folder(entry) : readFile(items[i].getAsFile(), entry.name))));
      } else {
        add([...event.dataTransfer.files].map((file) => readFile(file, file.name)));
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
