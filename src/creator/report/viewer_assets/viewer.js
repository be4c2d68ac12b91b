// The creator trace viewer. Every string from the run is untrusted model output: it reaches
// the page only through textContent and text nodes, never as HTML.
"use strict";
(() => {
  const ROW = 30; // px, the height of one list row (see .row in the CSS)
  const $ = (id) => document.getElementById(id);
  const readJSON = (id) => JSON.parse($(id).textContent);

  const run = readJSON("run-data");
  const index = readJSON("index-data"); // one small row per problem, in list order
  const byKey = new Map(index.map((row, i) => [row.k, i]));
  let shared = null; // prompt paragraphs shared by problems: parsed on the first open
  let details = null; // one JSON line per problem: split on the first open or trace search
  let hay = null; // lower-cased search text per problem: built on the first search

  const state = { filter: "all", rectified: false, arm: "", query: "", traces: false };
  let visible = []; // indices into `index` that pass the filters
  let selected = -1;

  const STAGES = {
    creation: "Creation",
    decision: "Decision",
    execution: "Execution",
    rectification: "Rectification",
    whole: "Tool and program",
    program: "Program",
    answer: "Answer",
    query: "Reasoning and query",
    service: "Computation service",
  };
  const CODE_LABELS = {
    creation: "tool code",
    decision: "decision code",
    rectification: "repaired code",
    whole: "tool and program",
    program: "program",
    execution: "code run",
  };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function detailLines() {
    if (details === null) details = $("detail-data").textContent.split("\n");
    return details;
  }

  function haystack(i) {
    if (hay === null) hay = new Array(index.length);
    if (hay[i] === undefined) {
      const r = index[i];
      hay[i] = [r.k, r.q, r.p, r.t, r.e, r.s].join("\n").toLowerCase();
    }
    return hay[i];
  }

  // The form a text takes inside the embedded JSON (see embed_json in viewer.py), so a
  // search can run over the raw detail lines without parsing them.
  function asEmbedded(text) {
    return JSON.stringify(text)
      .slice(1, -1)
      .replace(/[\u007f-\uffff]/g, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"))
      .replace(/</g, "\\u003c")
      .replace(/>/g, "\\u003e")
      .replace(/&/g, "\\u0026");
  }
  const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  // ---- header ---------------------------------------------------------------------------

  function renderHeader() {
    $("run-title").textContent = "creator view: " + run.name;
    const c = run.counts;
    const parts = [run.dataset, run.method, "model: " + run.model];
    if (run.config && run.config.hint && run.config.hint !== "none") {
      parts.push("hint: " + run.config.hint);
    }
    if (run.config) parts.push("scoring: " + run.config.scoring);
    if (run.config && run.config.samples > 1) {
      const early = run.config.vote_early ? ", early stop" : "";
      parts.push(`${run.config.samples} samples, vote: ${run.config.vote}${early}`);
    }
    const scored = c.all - (c.unscored || 0);
    const rate = scored ? ((100 * c.correct) / scored).toFixed(1) : "0.0";
    if (c.unscored) {
      parts.push(`${c.all} problems, ${c.correct} correct of ${scored} with an answer (${rate}%)`);
      $("unscored-filter").hidden = false;
    } else {
      parts.push(`${c.all} problems, ${c.correct} correct (${rate}%)`);
    }
    $("run-meta").textContent = parts.join(" · ");
    if (run.replay) {
      const banner = $("replay-banner");
      banner.hidden = false;
      banner.textContent =
        "Replay: the model 'reference' replays the solutions recorded in the dataset. " +
        "It is not a language model, and these results are not LLM accuracy.";
    }
    $("rectified-count").textContent = String(c.rectified);
    if (run.arms.length) {
      const select = $("arm");
      for (const arm of run.arms) {
        const option = el("option", null, arm + " arm");
        option.value = arm;
        select.appendChild(option);
      }
      select.hidden = false;
    }
  }

  // ---- the list -------------------------------------------------------------------------

  function apply() {
    const start = performance.now();
    const tokens = state.query.toLowerCase().split(/\s+/).filter(Boolean);
    const inTraces = state.traces && tokens.length > 0;
    const patterns = inTraces
      ? tokens.map((t) => new RegExp(escapeRegExp(asEmbedded(t)), "i"))
      : null;
    const lines = inTraces ? detailLines() : null;
    const tally = { all: 0, correct: 0, wrong: 0, error: 0, unscored: 0 };
    visible = [];
    for (let i = 0; i < index.length; i++) {
      const r = index[i];
      if (state.rectified && !(r.r > 0)) continue;
      if (state.arm && r.a !== state.arm) continue;
      if (tokens.length) {
        const h = haystack(i);
        let ok = true;
        for (let j = 0; j < tokens.length && ok; j++) {
          ok = h.includes(tokens[j]) || (inTraces && patterns[j].test(lines[i]));
        }
        if (!ok) continue;
      }
      tally.all++;
      tally[r.c]++;
      if (state.filter === "all" || r.c === state.filter) visible.push(i);
    }
    for (const button of document.querySelectorAll("#filters button")) {
      button.querySelector("span").textContent = String(tally[button.dataset.filter]);
      button.classList.toggle("on", button.dataset.filter === state.filter);
      button.setAttribute("aria-checked", String(button.dataset.filter === state.filter));
    }
    const n = index.length;
    $("count").textContent =
      visible.length === n ? `${n} problems` : `${visible.length} of ${n} problems`;
    $("list").scrollTop = 0;
    renderList();
    performance.measure("creator:filter", { start });
  }

  function snippet(r) {
    const text = r.q || r.e || (r.p ? "answer: " + r.p : "");
    return text.slice(0, 240).replace(/\s+/g, " ");
  }

  function makeRow(i) {
    const r = index[i];
    const row = el("div", i === selected ? "row sel" : "row");
    row.dataset.i = String(i);
    row.dataset.key = r.k;
    row.title = r.k;
    row.appendChild(el("span", "badge " + r.c, r.c));
    if (r.r > 0) row.appendChild(el("span", "badge plain", "rectified " + r.r));
    if (r.v) row.appendChild(el("span", "badge plain agree", `${r.v[0]}/${r.v[1]} votes`));
    row.appendChild(el("span", "key", r.k));
    row.appendChild(el("span", "q", snippet(r)));
    return row;
  }

  function renderList() {
    const list = $("list");
    const rows = $("rows");
    $("spacer").style.height = visible.length * ROW + "px";
    if (!visible.length) {
      rows.style.transform = "";
      rows.replaceChildren(el("p", "empty", "No problem matches."));
      return;
    }
    const height = list.clientHeight || 800;
    const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 10);
    const last = Math.min(visible.length, first + Math.ceil(height / ROW) + 20);
    rows.style.transform = `translateY(${first * ROW}px)`;
    const fragment = document.createDocumentFragment();
    for (let j = first; j < last; j++) fragment.appendChild(makeRow(visible[j]));
    rows.replaceChildren(fragment);
  }

  function scrollToSelected() {
    const j = visible.indexOf(selected);
    if (j < 0) return;
    const list = $("list");
    const top = j * ROW;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + ROW > list.scrollTop + list.clientHeight) {
      list.scrollTop = top + ROW - list.clientHeight;
    }
  }

  function move(delta) {
    if (!visible.length) return;
    const j = visible.indexOf(selected);
    const next = j < 0 ? 0 : Math.min(visible.length - 1, Math.max(0, j + delta));
    open(visible[next]);
  }

  // ---- one problem ----------------------------------------------------------------------

  function resolve(content) {
    if (typeof content === "string") return content;
    return content.map((part) => (typeof part === "number" ? shared[part] : part)).join("\n\n");
  }

  function label(text) {
    return el("div", "label", text);
  }

  function pre(text, cls) {
    return el("pre", cls, text);
  }

  function codeBlock(text, cls) {
    const block = el("pre", "code" + (cls ? " " + cls : ""));
    const lines = text.replace(/\n$/, "").split("\n");
    for (const line of lines) block.appendChild(el("span", null, line + "\n"));
    return block;
  }

  function diffBlock(text) {
    const block = el("pre", "diff");
    for (const line of text.split("\n")) {
      let cls = null;
      if (line.startsWith("+++") || line.startsWith("---")) cls = "file";
      else if (line.startsWith("@@")) cls = "hunk";
      else if (line.startsWith("+")) cls = "add";
      else if (line.startsWith("-")) cls = "del";
      block.appendChild(el("span", cls, line));
    }
    return block;
  }

  function collapsible(summary, body, isOpen) {
    const box = el("details", "part");
    box.open = isOpen;
    box.appendChild(el("summary", null, summary));
    box.appendChild(body);
    return box;
  }

  function fact(list, name, value, cls) {
    if (value === undefined || value === null || value === "") return;
    list.appendChild(el("dt", null, name));
    const dd = el("dd", cls, value);
    list.appendChild(dd);
  }

  // The stage as shown: records written before the stage "program" existed label the pot
  // baseline's program "whole" (the toolcreate-whole baseline's stage).
  function shownStage(step, problem) {
    return step.stage === "whole" && problem.method === "pot" ? "program" : step.stage;
  }

  function stepTitle(step, n, problem) {
    let title = `${n + 1}. ${STAGES[shownStage(step, problem)] || step.stage}`;
    if (step.stage === "rectification") title += `, round ${step.round}`;
    else if (step.round && step.stage === "execution") title += ` after rectification ${step.round}`;
    else if (step.round) title += `, attempt ${step.round + 1}`;
    return title;
  }

  function renderExec(x, stage, body) {
    const ms = Math.round((x.duration_s || 0) * 1000);
    const flags = [`exit status ${x.exit_code === null ? "none" : x.exit_code}`, `${ms} ms`];
    if (x.timed_out) flags.push("timed out");
    if (x.memory_exceeded) flags.push("memory limit exceeded");
    if (x.output_truncated) flags.push("output truncated");
    if (x.isolation) flags.push("sandbox " + x.isolation);
    body.appendChild(label((stage === "creation" ? "tool test run: " : "output: ") + flags.join(", ")));
    if (x.stdout) body.appendChild(pre(x.stdout, "stdout"));
    else if (stage !== "creation") body.appendChild(el("div", "note", "(nothing printed)"));
    if (x.stderr) {
      body.appendChild(label("stderr"));
      body.appendChild(pre(x.stderr, "stderr"));
    }
    if (x.traceback) {
      body.appendChild(label("traceback"));
      body.appendChild(pre(x.traceback, "traceback"));
    }
  }

  // A model's reasoning, folded: long, and no part of the answer. Its middle may have been
  // left out of the page (see _reasoning in viewer.py).
  function reasoningBlock(r) {
    const size = r.tokens ? `${r.tokens} tokens` : `${r.chars} chars`;
    const body = el("div", "reasoning-body");
    body.appendChild(pre(r.text, "reasoning"));
    if (r.omitted) {
      body.appendChild(
        el("div", "note omitted", `… ${r.omitted} more chars, left out of this page (all of it is in results.jsonl) …`),
      );
      if (r.tail) body.appendChild(pre(r.tail, "reasoning reasoning-tail"));
    }
    const box = collapsible(`reasoning (${size})`, body, false);
    box.classList.add("reasoning");
    return box;
  }

  function renderStep(step, n, problem) {
    const section = el("section", step.error ? "step failed" : "step");
    section.dataset.stage = step.stage;
    section.dataset.round = String(step.round);
    const head = el("h3", null, stepTitle(step, n, problem) + " ");
    head.appendChild(el("span", step.error ? "badge failed" : "badge ok", step.error ? "failed" : "ok"));
    section.appendChild(head);
    const body = el("div", "body");
    section.appendChild(body);
    for (const message of step.messages || []) {
      const text = resolve(message.content);
      body.appendChild(
        collapsible(`${message.role} prompt (${text.length} characters)`, pre(text, "prompt"), false),
      );
    }
    if (step.reasoning) body.appendChild(reasoningBlock(step.reasoning));
    if (step.reply !== undefined) {
      const who = problem.replay ? "replayed reply (recorded solution, not a model)" : "model reply";
      let tokens = `${step.usage[0]} + ${step.usage[1]} tokens`;
      if (step.usage[2]) tokens += ` (${step.usage[2]} reasoning)`;
      const bits = [who, tokens];
      if (step.cached) bits.push("cached");
      else {
        if (step.latency) bits.push(`${step.latency.toFixed(1)} s`);
        if (step.queue) bits.push(`queued ${step.queue.toFixed(1)} s`);
      }
      if (step.finish) bits.push(`finish: ${step.finish}`);
      const reply = step.reply ? pre(step.reply, "reply") : el("div", "note", "(no answer text)");
      body.appendChild(collapsible(bits.join(", "), reply, true));
    }
    if (step.cut_off) body.appendChild(el("p", "cut-off", step.cut_off));
    if (step.code !== undefined) {
      body.appendChild(label(CODE_LABELS[shownStage(step, problem)] || "code"));
      body.appendChild(codeBlock(step.code, "step-code"));
    }
    if (step.ran) {
      const withTool = problem.tool_from || problem.steps.some((s) => s.stage === "creation");
      let what = `ran the ${step.ran} code above`;
      if (/^(whole|program)\b/.test(step.ran)) what = "ran the program above";
      else if (withTool) what = `ran the tool, then the ${step.ran} code above`;
      body.appendChild(el("div", "note", what));
    }
    if (step.diff !== undefined) {
      body.appendChild(label(`changes against ${step.diff_of}`));
      if (step.diff) body.appendChild(diffBlock(step.diff));
      else body.appendChild(el("div", "note", "no change: the same code again"));
    }
    if (step.extra) {
      const facts = el("dl", "facts");
      for (const [name, value] of Object.entries(step.extra)) {
        const text = Array.isArray(value) && value.every((v) => typeof v === "string")
          ? value.join(", ")
          : typeof value === "string" ? value : JSON.stringify(value);
        fact(facts, name.replace(/_/g, " "), text);
      }
      body.appendChild(facts);
    }
    if (step.exec) renderExec(step.exec, step.stage, body);
    if (step.service) renderService(step.service, body);
    if (step.answer !== undefined) body.appendChild(el("p", "answer", "answer: " + step.answer));
    if (step.error && !(step.exec && step.exec.traceback === step.error)) {
      body.appendChild(label("error"));
      body.appendChild(pre(step.error, "error"));
    }
    return section;
  }

  function renderService(reply, body) {
    body.appendChild(label("query"));
    body.appendChild(pre(reply.query, "service-query"));
    const ms = Math.round((reply.duration_s || 0) * 1000);
    if (reply.text !== null && reply.text !== undefined) {
      body.appendChild(label(`${reply.service} answered in ${ms} ms`));
      body.appendChild(pre(reply.text, "service-reply"));
    } else {
      body.appendChild(el("div", "note", `${reply.service} gave no result (${ms} ms)`));
    }
  }

  // ---- a sampled problem: its vote, then every attempt side by side ----------------------

  const GROUP_COLOURS = 8; // .g0 ... .g7 in the CSS, taken in turn
  const RULES = {
    majority: "majority: every attempt that answered is counted",
    execution: "execution: only attempts whose code ran without an error are counted",
  };

  const hasGroup = (group) => group !== null && group !== undefined;

  function groupName(group) {
    if (!hasGroup(group)) return "no answer";
    return "group " + (group < 26 ? String.fromCharCode(65 + group) : String(group + 1));
  }

  function groupBadge(group) {
    const cls = hasGroup(group) ? `badge group g${group % GROUP_COLOURS}` : "badge group none";
    return el("span", cls, groupName(group));
  }

  function renderVote(d) {
    const v = d.vote;
    const made = d.samples.length;
    const box = el("section", "vote");
    const head = el("h3", null, "Vote ");
    if (v.early) head.appendChild(el("span", "badge plain early", "early stop"));
    if (v.fallback) head.appendChild(el("span", "badge wrong fallback", "fallback"));
    box.appendChild(head);
    const facts = el("dl", "facts");
    fact(facts, "rule", RULES[v.rule] || v.rule);
    fact(facts, "chosen", hasGroup(v.chosen) ? `attempt #${v.chosen}` : "none: no attempt answered");
    const asked = made < v.k ? ` (${v.k} asked for)` : "";
    fact(facts, "votes", `${v.votes} of ${made} attempts made${asked}`);
    if (v.early) {
      fact(facts, "early stop", `after ${made} of ${v.k} attempts: the answer could no longer lose`);
    }
    if (v.fallback) {
      fact(facts, "fallback", "no attempt ran without an error: every answer was counted instead");
    }
    box.appendChild(facts);
    const groups = new Map(); // group -> [attempts, the first answer]
    for (const s of d.samples) {
      const key = hasGroup(s.group) ? s.group : null;
      const entry = groups.get(key) || [0, s.prediction];
      entry[0]++;
      groups.set(key, entry);
    }
    const agreement = el("div", "agreement");
    for (const [group, [count, answer]] of groups) {
      const item = el("span", "agreed");
      item.appendChild(groupBadge(group));
      const what = hasGroup(group) ? `: ${String(answer).slice(0, 80)}` : "";
      item.appendChild(document.createTextNode(`${count} of ${made}${what}`));
      agreement.appendChild(item);
    }
    box.appendChild(agreement);
    return box;
  }

  function renderSample(s, d) {
    const chosen = d.vote !== null && d.vote !== undefined && d.vote.chosen === s.index;
    const pane = el("section", "sample" + (chosen ? " chosen" : ""));
    if (hasGroup(s.group)) pane.classList.add("g" + (s.group % GROUP_COLOURS));
    pane.dataset.index = String(s.index);
    pane.dataset.group = hasGroup(s.group) ? String(s.group) : "";
    const head = el("h3", null, `attempt #${s.index} `);
    if (chosen) head.appendChild(el("span", "badge chosen", "chosen"));
    head.appendChild(groupBadge(s.group));
    pane.appendChild(head);
    const badges = el("div", "badges");
    const verdict = d.target === null ? "unscored" : s.correct ? "correct" : "wrong";
    badges.appendChild(el("span", "badge verdict " + verdict, verdict));
    badges.appendChild(el("span", "badge plain", s.status));
    badges.appendChild(
      el("span", "badge plain eligible", s.eligible ? "counted" : "not counted"),
    );
    if (s.rectifications) {
      badges.appendChild(el("span", "badge plain", `rectified ${s.rectifications}x`));
    }
    pane.appendChild(badges);
    const facts = el("dl", "facts");
    fact(facts, "prediction", s.prediction === null ? "(none)" : s.prediction, "prediction");
    let tokens = `${s.tokens.prompt} prompt + ${s.tokens.completion} completion`;
    if (s.tokens.reasoning) tokens += ` (${s.tokens.reasoning} of them reasoning)`;
    fact(facts, "tokens", tokens);
    fact(facts, "time", `${(s.duration_s || 0).toFixed(2)} s`);
    fact(facts, "reused tool", s.reused_tool);
    fact(facts, "error", s.error, "error");
    pane.appendChild(facts);
    const attempt = Object.assign({}, d, { steps: s.steps });
    if (!s.steps.length) pane.appendChild(el("p", "note", "No steps were recorded."));
    s.steps.forEach((step, n) => pane.appendChild(renderStep(step, n, attempt)));
    return pane;
  }

  function renderSamples(d, fragment) {
    if (d.vote) fragment.appendChild(renderVote(d));
    const strip = el("div", "samples");
    strip.setAttribute("role", "group");
    strip.setAttribute("aria-label", "attempts");
    for (const s of d.samples) strip.appendChild(renderSample(s, d));
    fragment.appendChild(strip);
    return strip;
  }

  function showChosen(strip) {
    const pane = strip.querySelector(".sample.chosen");
    if (pane && pane.offsetLeft + pane.offsetWidth > strip.clientWidth) {
      strip.scrollLeft = pane.offsetLeft;
    }
  }

  function renderDetail(d) {
    const fragment = document.createDocumentFragment();
    fragment.appendChild(el("h2", null, d.key));
    const badges = el("div", "badges");
    badges.appendChild(el("span", "badge " + d.category, d.category));
    badges.appendChild(el("span", "badge plain", d.status));
    if (d.rectifications) {
      badges.appendChild(el("span", "badge plain", `rectified ${d.rectifications}x`));
    }
    if (d.arm) badges.appendChild(el("span", "badge plain", d.arm + " arm"));
    if (d.vote && d.samples.length) {
      badges.appendChild(el("span", "badge plain agree", `${d.vote.votes}/${d.samples.length} votes`));
    }
    if (d.replay) badges.appendChild(el("span", "badge wrong", "replay, not an LLM"));
    fragment.appendChild(badges);
    const facts = el("dl", "facts");
    fact(facts, "question", d.question || "(not in the shipped datasets: see the prompts)");
    fact(facts, "context", d.context);
    fact(facts, "expected", d.target === null ? "(none)" : d.target);
    const sampled = Boolean(d.samples && d.samples.length);
    const all = sampled ? ` (all ${d.samples.length} attempts)` : "";
    fact(facts, "prediction", d.prediction === null ? "(none)" : d.prediction);
    fact(facts, "model", d.replay ? run.model : d.model);
    fact(facts, "creation model", d.creation_model);
    fact(facts, "method", d.method);
    let tokens = `${d.tokens.prompt} prompt + ${d.tokens.completion} completion`;
    if (d.tokens.reasoning) tokens += ` (${d.tokens.reasoning} of them reasoning)`;
    fact(facts, "tokens" + all, tokens);
    const byModel = Object.entries(d.tokens_by_model || {});
    if (byModel.length) {
      const each = byModel.map(([m, t]) => `${m}: ${t.prompt} prompt + ${t.completion} completion`);
      fact(facts, "tokens by model", each.join("\n"));
    }
    fact(facts, "time" + all, `${(d.duration_s || 0).toFixed(2)} s, sandbox ${d.sandbox || "?"}`);
    fact(facts, "tool from", d.tool_from);
    fact(facts, "reused tool", d.reused_tool);
    fact(facts, "error", d.error, "error");
    fragment.appendChild(facts);
    const strip = sampled ? renderSamples(d, fragment) : null;
    if (!sampled && !d.steps.length) {
      fragment.appendChild(el("p", "note", "No steps were recorded."));
    }
    d.steps.forEach((step, n) => fragment.appendChild(renderStep(step, n, d)));
    const root = $("detail");
    root.replaceChildren(fragment);
    root.scrollTop = 0;
    if (strip) showChosen(strip);
  }

  function open(i) {
    const start = performance.now();
    if (shared === null) shared = readJSON("shared-data");
    selected = i;
    const d = JSON.parse(detailLines()[i]);
    renderDetail(d);
    scrollToSelected();
    renderList();
    const hash = "#" + encodeURIComponent(d.key);
    if (location.hash !== hash) location.hash = hash;
    performance.measure("creator:open", { start });
  }

  function openFromHash() {
    let key;
    try {
      key = decodeURIComponent(location.hash.slice(1));
    } catch (_) {
      return;
    }
    const i = byKey.get(key);
    if (i !== undefined && i !== selected) open(i);
  }

  // ---- wiring ---------------------------------------------------------------------------

  let searchTimer = 0;
  $("search").addEventListener("input", (event) => {
    state.query = event.target.value;
    clearTimeout(searchTimer);
    searchTimer = setTimeout(apply, state.traces ? 150 : 0);
  });
  $("search").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      clearTimeout(searchTimer);
      state.query = event.target.value;
      apply();
    } else if (event.key === "Escape") {
      event.target.blur();
    }
  });
  $("search-traces").addEventListener("change", (event) => {
    state.traces = event.target.checked;
    apply();
  });
  $("filters").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    state.filter = button.dataset.filter;
    apply();
  });
  $("rectified").addEventListener("change", (event) => {
    state.rectified = event.target.checked;
    apply();
  });
  $("arm").addEventListener("change", (event) => {
    state.arm = event.target.value;
    apply();
  });
  $("rows").addEventListener("click", (event) => {
    const row = event.target.closest(".row");
    if (row) open(Number(row.dataset.i));
  });
  let framePending = false;
  const redraw = () => {
    if (framePending) return;
    framePending = true;
    requestAnimationFrame(() => {
      framePending = false;
      renderList();
    });
  };
  $("list").addEventListener("scroll", redraw);
  window.addEventListener("resize", redraw);
  $("list").addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(event.key === "ArrowDown" ? 1 : -1);
    }
  });
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/") {
      event.preventDefault();
      $("search").focus();
    } else if (event.key === "j" || event.key === "k") {
      move(event.key === "j" ? 1 : -1);
    }
  });
  window.addEventListener("hashchange", openFromHash);

  renderHeader();
  apply();
  performance.mark("creator:list-rendered");
  openFromHash();
  document.documentElement.dataset.ready = "1";
})();
