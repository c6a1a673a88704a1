// The rule editor of the staff console (规则编辑器): a progressive enhancement of the
// authoring page's plain <textarea data-editor>, which works without this script.
//
// It adds line numbers and highlighting (keywords come from the grammar through
// /assets/console/keywords.json; this file holds no keyword list), a server check while
// typing (debounced), a list of the problems that jumps to each one, buttons that run the
// rule set's tests and preview its tender clauses, and an autosave of every change in this
// browser, restored after a refresh or a new sign-in. Plain JavaScript, no build step, no
// inline script or style (the console's Content-Security-Policy allows neither).
(function () {
  'use strict';

  var CHECK_DELAY_MS = 400;
  var MAX_HIGHLIGHTED = 200000; // characters; longer texts are shown without colours
  var SIGNIN_PATH = '/console/signin';

  var textarea = document.querySelector('textarea[data-editor]');
  if (!textarea) {
    return;
  }
  var ruleset = textarea.getAttribute('data-ruleset') || '';
  var base = textarea.getAttribute('data-base') || '';
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') || '' : '';
  var api = '/console/api/rulesets/' + encodeURIComponent(ruleset);
  var storageKey = 'credit-rules:draft:' + ruleset + ':' + (base || 'new');
  var original = textarea.value;
  var form = textarea.form;

  var keywordSet = Object.create(null);
  var unitSet = Object.create(null);
  var diagnostics = [];
  var diagnosticsFresh = false;
  var checkTimer = null;
  var checkSeq = 0;
  var inFlight = null;
  var lastSummary = '';

  // ---------------------------------------------------------------- DOM

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') {
        node.textContent = attrs[name];
      } else if (name === 'hidden') {
        node.hidden = !!attrs[name];
      } else {
        node.setAttribute(name, attrs[name]);
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  var testsButton = el('button', { type: 'button', class: 'cr-editor-button', text: '运行测试' });
  var previewButton = el('button', {
    type: 'button',
    class: 'cr-editor-button',
    text: '预览招标文件条款'
  });
  var status = el('p', { class: 'cr-editor-status', role: 'status', 'aria-live': 'polite' });
  var notice = el('div', { class: 'cr-editor-notice', role: 'status', hidden: true });
  var gutter = el('pre', { class: 'cr-editor-gutter', 'aria-hidden': 'true' });
  var highlight = el('pre', { class: 'cr-editor-highlight', 'aria-hidden': 'true' });
  var area = el('div', { class: 'cr-editor-area' }, [highlight]);
  var frame = el('div', { class: 'cr-editor-frame' }, [gutter, area]);
  var summary = el('p', {
    id: 'cr-editor-summary',
    class: 'cr-editor-summary',
    'aria-live': 'polite'
  });
  var problemList = el('ol', { class: 'cr-diagnostics', 'aria-label': '问题列表' });
  var problems = el('section', { class: 'cr-editor-problems', 'aria-labelledby': 'cr-problems-h' }, [
    el('h2', { id: 'cr-problems-h', text: '检查结果' }),
    summary,
    problemList
  ]);
  var testsBody = el('div', { class: 'cr-editor-tests-body', 'aria-live': 'polite' });
  var testsSection = el('section', {
    class: 'cr-editor-tests',
    'aria-labelledby': 'cr-tests-h',
    hidden: true
  }, [el('h2', { id: 'cr-tests-h', text: '测试结果' }), testsBody]);
  var previewBody = el('div', { class: 'cr-editor-preview-body' });
  var previewSection = el('section', {
    class: 'cr-editor-preview',
    'aria-labelledby': 'cr-preview-h',
    hidden: true
  }, [el('h2', { id: 'cr-preview-h', text: '条款预览（未保存的草稿）' }), previewBody]);
  var toolbar = el('div', { class: 'cr-editor-toolbar', role: 'toolbar', 'aria-label': '编辑器操作' }, [
    testsButton,
    previewButton
  ]);
  var editor = el('div', { class: 'cr-editor' }, [
    toolbar,
    status,
    notice,
    frame,
    problems,
    testsSection,
    previewSection
  ]);

  textarea.parentNode.insertBefore(editor, textarea);
  area.appendChild(textarea);
  textarea.classList.add('cr-editor-input');
  textarea.setAttribute('wrap', 'off');
  textarea.setAttribute('spellcheck', 'false');
  textarea.setAttribute('autocapitalize', 'off');
  textarea.setAttribute('autocomplete', 'off');
  var describedBy = textarea.getAttribute('aria-describedby');
  textarea.setAttribute('aria-describedby', (describedBy ? describedBy + ' ' : '') + 'cr-editor-summary');
  editor.classList.add('cr-editor-ready');

  // ---------------------------------------------------------------- text positions

  // Offsets in a JavaScript string count UTF-16 units; the server counts lines and
  // characters (code points) from 1. Characters outside the BMP take two units.
  function lineStarts(text) {
    var starts = [0];
    for (var i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) {
        starts.push(i + 1);
      }
    }
    return starts;
  }

  function offsetOf(text, starts, line, col) {
    var index = starts[Math.min(Math.max(line, 1), starts.length) - 1];
    for (var c = 1; c < col && index < text.length; c++) {
      if (text.charCodeAt(index) === 10) {
        break;
      }
      var code = text.codePointAt(index);
      index += code > 0xffff ? 2 : 1;
    }
    return index;
  }

  function rangeOf(text, starts, at) {
    var start = offsetOf(text, starts, at.line, at.col);
    var end = offsetOf(text, starts, at.end_line, at.end_col);
    if (end < start) {
      end = start;
    }
    return { start: start, end: end };
  }

  // ---------------------------------------------------------------- highlighting

  var TOKEN = new RegExp(
    '((?:\\/\\/|#)[^\\n]*)' + // 1 comment
      '|("(?:[^"\\\\\\n]|\\\\.)*"?|\u201c[^\u201d\\n]*\u201d?)' + // 2 string
      '|(\\d{4}-\\d{2}-\\d{2})' + // 3 date
      '|(\\d+(?:\\.\\d+)?)' + // 4 number
      '|([\\p{ID_Start}_][\\p{ID_Continue}_]*)', // 5 word
    'gu'
  );

  function tokens(text) {
    var out = [];
    var match;
    TOKEN.lastIndex = 0;
    while ((match = TOKEN.exec(text)) !== null) {
      var kind = null;
      if (match[1] !== undefined) {
        kind = 'comment';
      } else if (match[2] !== undefined) {
        kind = 'string';
      } else if (match[3] !== undefined) {
        kind = 'date';
      } else if (match[4] !== undefined) {
        kind = 'number';
      } else if (keywordSet[match[5]]) {
        kind = 'keyword';
      } else if (unitSet[match[5]]) {
        kind = 'duration';
      }
      if (kind) {
        out.push({ start: match.index, end: match.index + match[0].length, kind: kind });
      }
    }
    return out;
  }

  function escapeHtml(text) {
    return text.replace(/[&<>"]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c];
    });
  }

  // The marks of the current diagnostics, in the current text's offsets.
  function marks(text) {
    if (!diagnosticsFresh) {
      return [];
    }
    var starts = lineStarts(text);
    var out = [];
    diagnostics.forEach(function (d, i) {
      if (!d.at) {
        return;
      }
      var r = rangeOf(text, starts, d.at);
      if (r.end === r.start) {
        // An empty span (e.g. "expected `}`" at the end): mark the character there, or the
        // one before it at the very end of the text.
        if (r.start < text.length && text.charCodeAt(r.start) !== 10) {
          r.end = r.start + 1;
        } else if (r.start > 0) {
          r.start -= 1;
        }
      }
      out.push({ start: r.start, end: r.end, severity: d.severity, index: i });
    });
    return out;
  }

  function render() {
    var text = textarea.value;
    var starts = lineStarts(text);
    var lineMarks = Object.create(null);
    var ms = marks(text);
    ms.forEach(function (m) {
      var line = 1;
      while (line < starts.length && starts[line] <= m.start) {
        line++;
      }
      if (lineMarks[line] !== 'error') {
        lineMarks[line] = m.severity;
      }
    });
    var numbers = [];
    for (var n = 1; n <= starts.length; n++) {
      var cls = lineMarks[n] ? ' class="cr-line-' + lineMarks[n] + '"' : '';
      numbers.push('<span' + cls + '>' + n + '</span>');
    }
    gutter.innerHTML = numbers.join('\n') + '\n';
    if (text.length > MAX_HIGHLIGHTED) {
      highlight.textContent = text + '\n';
      return;
    }
    var ts = tokens(text);
    var cuts = [0, text.length];
    ts.forEach(function (t) {
      cuts.push(t.start, t.end);
    });
    ms.forEach(function (m) {
      cuts.push(m.start, m.end);
    });
    cuts = cuts
      .filter(function (c) {
        return c >= 0 && c <= text.length;
      })
      .sort(function (a, b) {
        return a - b;
      });
    var html = '';
    var t = 0;
    for (var i = 0; i + 1 < cuts.length; i++) {
      var from = cuts[i];
      var to = cuts[i + 1];
      if (to <= from) {
        continue;
      }
      while (t < ts.length && ts[t].end <= from) {
        t++;
      }
      var classes = [];
      if (t < ts.length && ts[t].start <= from) {
        classes.push('cr-tok-' + ts[t].kind);
      }
      var mark = null;
      for (var k = 0; k < ms.length; k++) {
        if (ms[k].start <= from && to <= ms[k].end) {
          if (!mark || ms[k].severity === 'error') {
            mark = ms[k];
          }
        }
      }
      var piece = escapeHtml(text.slice(from, to));
      if (classes.length) {
        piece = '<span class="' + classes.join(' ') + '">' + piece + '</span>';
      }
      if (mark) {
        piece = '<mark class="cr-mark-' + mark.severity + '" data-diagnostic="' + mark.index + '">' +
          piece + '</mark>';
      }
      html += piece;
    }
    // A trailing newline needs a character after it to take up its line.
    highlight.innerHTML = html + '\n ';
    syncScroll();
  }

  function syncScroll() {
    highlight.scrollTop = textarea.scrollTop;
    highlight.scrollLeft = textarea.scrollLeft;
    gutter.scrollTop = textarea.scrollTop;
  }

  // ---------------------------------------------------------------- server calls

  function post(path, signal) {
    return fetch(api + path, {
      method: 'POST',
      credentials: 'same-origin',
      signal: signal,
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'X-CSRF-Token': csrf
      },
      body: JSON.stringify({ source: textarea.value, base_hash: base || null })
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          return { status: response.status, body: body };
        });
    });
  }

  function say(message, kind) {
    status.textContent = '';
    status.className = 'cr-editor-status' + (kind ? ' cr-editor-status-' + kind : '');
    if (typeof message === 'string') {
      status.textContent = message;
    } else if (message) {
      status.appendChild(message);
    }
  }

  function sessionExpired() {
    var link = el('a', { href: SIGNIN_PATH, target: '_blank', rel: 'noopener', text: '在新标签页中重新登录' });
    say(
      el('span', {}, [
        '登录已过期。您输入的内容已保存在本浏览器中，不会丢失：请',
        link,
        '，然后回到本页继续（检查会自动恢复）。'
      ]),
      'warning'
    );
  }

  // Says what a refused call means; true when the caller should stop.
  function refused(answer, what) {
    if (answer.status === 401) {
      sessionExpired();
      return true;
    }
    if (answer.status >= 400) {
      var detail = answer.body && answer.body.detail ? '：' + answer.body.detail : '';
      say(what + '失败（HTTP ' + answer.status + '）' + detail, 'error');
      return true;
    }
    return false;
  }

  function scheduleCheck() {
    if (checkTimer) {
      clearTimeout(checkTimer);
    }
    checkTimer = setTimeout(runCheck, CHECK_DELAY_MS);
  }

  function runCheck() {
    checkTimer = null;
    var seq = ++checkSeq;
    if (inFlight) {
      inFlight.abort();
    }
    inFlight = new AbortController();
    editor.setAttribute('aria-busy', 'true');
    post('/check', inFlight.signal)
      .then(function (answer) {
        if (seq !== checkSeq) {
          return;
        }
        editor.removeAttribute('aria-busy');
        if (refused(answer, '检查')) {
          return;
        }
        if (status.classList.contains('cr-editor-status-warning') ||
          status.classList.contains('cr-editor-status-error')) {
          say('');
        }
        showDiagnostics(answer.body);
      })
      .catch(function (error) {
        if (error && error.name === 'AbortError') {
          return;
        }
        editor.removeAttribute('aria-busy');
        say('无法连接服务器：修改已保存在本浏览器中，再次输入时将重新检查。', 'error');
      });
  }

  function severityLabel(severity) {
    return severity === 'error' ? '错误' : '警告';
  }

  function showDiagnostics(answer) {
    diagnostics = answer.diagnostics || [];
    diagnosticsFresh = true;
    render();
    problemList.textContent = '';
    diagnostics.forEach(function (d, i) {
      problemList.appendChild(diagnosticItem(d, i));
    });
    var text;
    if (!diagnostics.length) {
      text = '没有发现问题：可以运行测试、预览，然后提交。';
    } else {
      text = '发现 ' + answer.errors + ' 个错误、' + answer.warnings + ' 个警告。';
    }
    if (answer.base_is_current === false) {
      text += ' 注意：本草稿所依据的版本已不是现行版本，提交将被拒绝；请从现行版本重新开始。';
    }
    summary.className = 'cr-editor-summary' + (answer.errors ? ' cr-has-errors' : '');
    if (text !== lastSummary) {
      summary.textContent = text;
      lastSummary = text;
    }
  }

  function diagnosticItem(d, i) {
    var where = d.at
      ? '第 ' + d.at.line + ' 行第 ' + d.at.col + ' 列'
      : d.file ? '（' + d.file + '）' : '';
    var head = el('span', { class: 'cr-diag-head' }, [
      el('span', { class: 'cr-sev cr-sev-' + d.severity, text: severityLabel(d.severity) }),
      ' ',
      el('code', { text: d.code }),
      ' ',
      el('span', { class: 'cr-diag-where', text: where }),
      ' ',
      el('span', { class: 'cr-diag-message', text: d.message })
    ]);
    var body = [head];
    if (d.help) {
      body.push(el('span', { class: 'cr-diag-help', text: '建议：' + d.help }));
    }
    (d.notes || []).forEach(function (note) {
      body.push(el('span', { class: 'cr-diag-note', text: '说明：' + note }));
    });
    var item;
    if (d.at) {
      item = el('button', {
        type: 'button',
        class: 'cr-diag cr-diag-' + d.severity,
        'data-diagnostic': String(i),
        'aria-label': severityLabel(d.severity) + ' ' + d.code + ' ' + where + '：' + d.message +
          (d.help ? '。建议：' + d.help : '') + '。按回车跳到此处'
      }, body);
      item.addEventListener('click', function () {
        jumpTo(d.at);
      });
    } else {
      item = el('div', { class: 'cr-diag cr-diag-' + d.severity }, body);
    }
    return el('li', {}, [item]);
  }

  function jumpTo(at) {
    var text = textarea.value;
    var r = rangeOf(text, lineStarts(text), at);
    textarea.focus();
    textarea.setSelectionRange(r.start, Math.max(r.end, r.start));
    var lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 24;
    var top = (at.line - 1) * lineHeight;
    if (top < textarea.scrollTop || top > textarea.scrollTop + textarea.clientHeight - 2 * lineHeight) {
      textarea.scrollTop = Math.max(0, top - textarea.clientHeight / 3);
    }
    syncScroll();
  }

  // ---------------------------------------------------------------- tests and preview

  function runTests() {
    testsButton.disabled = true;
    say('正在运行测试……');
    post('/tests')
      .then(function (answer) {
        testsSection.hidden = false;
        testsBody.textContent = '';
        if (answer.status === 422 && answer.body.code === 'ruleset_invalid') {
          say('');
          testsBody.appendChild(el('p', { class: 'cr-tests-blocked', text: '规则有错误，测试无法运行：请先改正“检查结果”中的错误。' }));
          runCheck();
          return;
        }
        if (refused(answer, '运行测试')) {
          return;
        }
        say('');
        showTests(answer.body);
      })
      .catch(function () {
        say('无法连接服务器，测试未运行。', 'error');
      })
      .then(function () {
        testsButton.disabled = false;
      });
  }

  function showTests(answer) {
    var tests = answer.tests || [];
    testsBody.appendChild(el('p', {
      class: 'cr-tests-summary' + (answer.failed ? ' cr-has-errors' : ''),
      text: tests.length
        ? '共 ' + tests.length + ' 个测试：' + answer.passed + ' 个通过，' + answer.failed + ' 个未通过。'
        : '本规则集没有测试。可以用“测试 \u201c说明\u201d { 评价日期 … 记录 … 预期 … }”编写。'
    }));
    var list = el('ol', { class: 'cr-tests' });
    tests.forEach(function (test) {
      var title = el('button', {
        type: 'button',
        class: 'cr-test-name',
        text: (test.passed ? '✓ 通过：' : '✗ 未通过：') + test.name
      });
      title.addEventListener('click', function () {
        jumpTo(test.at);
      });
      var rows = (test.checks || []).map(function (c) {
        var row = el('tr', { class: c.held ? 'cr-held' : 'cr-not-held' }, [
          el('td', { text: '第 ' + c.at.line + ' 行' }),
          el('td', { text: c.expected }),
          el('td', { text: c.actual }),
          el('td', { text: c.held ? '符合' : '不符' })
        ]);
        return row;
      });
      var parts = [title];
      if (rows.length) {
        parts.push(el('table', { class: 'cr-test-checks' }, [
          el('thead', {}, [el('tr', {}, [
            el('th', { scope: 'col', text: '位置' }),
            el('th', { scope: 'col', text: '预期结果' }),
            el('th', { scope: 'col', text: '实际结果' }),
            el('th', { scope: 'col', text: '结果' })
          ])]),
          el('tbody', {}, rows)
        ]));
      }
      var failures = (test.failures || []).filter(function (f) {
        return !(test.checks || []).some(function (c) {
          return f.at && c.at.start === f.at.start && c.at.end === f.at.end;
        });
      });
      failures.forEach(function (f) {
        parts.push(el('p', { class: 'cr-test-failure', text: f.message + (f.help ? '（' + f.help + '）' : '') }));
      });
      list.appendChild(el('li', { class: test.passed ? 'cr-test-pass' : 'cr-test-fail' }, parts));
    });
    testsBody.appendChild(list);
  }

  function runPreview() {
    previewButton.disabled = true;
    say('正在生成预览……');
    post('/preview')
      .then(function (answer) {
        previewSection.hidden = false;
        if (answer.status === 422 && answer.body.code === 'ruleset_invalid') {
          say('');
          previewBody.textContent = '规则有错误，无法预览：请先改正“检查结果”中的错误。';
          runCheck();
          return;
        }
        if (refused(answer, '预览')) {
          return;
        }
        say('');
        // The server's HTML writer escapes every text and writes no script or style.
        previewBody.innerHTML = answer.body.html || '';
        previewSection.scrollIntoView({ block: 'start' });
      })
      .catch(function () {
        say('无法连接服务器，预览未生成。', 'error');
      })
      .then(function () {
        previewButton.disabled = false;
      });
  }

  // ---------------------------------------------------------------- autosave

  function load() {
    try {
      var saved = window.localStorage.getItem(storageKey);
      return saved ? JSON.parse(saved) : null;
    } catch (e) {
      return null;
    }
  }

  var storageWarned = false;
  function save() {
    try {
      if (textarea.value === original) {
        window.localStorage.removeItem(storageKey);
      } else {
        window.localStorage.setItem(storageKey, JSON.stringify({ text: textarea.value, saved: Date.now() }));
      }
    } catch (e) {
      if (!storageWarned) {
        storageWarned = true;
        say('本浏览器不允许保存草稿（可能是隐私模式或存储已满）：刷新页面会丢失未提交的修改。', 'warning');
      }
    }
  }

  function forget() {
    try {
      window.localStorage.removeItem(storageKey);
    } catch (e) {
      // nothing was saved
    }
  }

  function twoDigits(n) {
    return (n < 10 ? '0' : '') + n;
  }

  function restore() {
    var saved = load();
    if (!saved || typeof saved.text !== 'string' || saved.text === textarea.value) {
      return;
    }
    textarea.value = saved.text;
    var when = new Date(saved.saved || Date.now());
    var stamp = when.getFullYear() + '-' + twoDigits(when.getMonth() + 1) + '-' + twoDigits(when.getDate()) +
      ' ' + twoDigits(when.getHours()) + ':' + twoDigits(when.getMinutes());
    var discard = el('button', { type: 'button', class: 'cr-editor-button', text: '放弃这些修改，恢复原始内容' });
    var close = el('button', { type: 'button', class: 'cr-editor-button', text: '知道了' });
    notice.textContent = '';
    notice.appendChild(el('p', { text: '已恢复您在本浏览器中未提交的修改（保存于 ' + stamp + '）。' }));
    notice.appendChild(discard);
    notice.appendChild(close);
    notice.hidden = false;
    discard.addEventListener('click', function () {
      textarea.value = original;
      forget();
      notice.hidden = true;
      render();
      runCheck();
      textarea.focus();
    });
    close.addEventListener('click', function () {
      notice.hidden = true;
      textarea.focus();
    });
  }

  // ---------------------------------------------------------------- submission

  // The form is posted by fetch so that the typed text is forgotten only once the server has
  // taken the draft (it answers with a redirect to another page); anything else leaves the
  // text here and in the browser's storage, and says why.
  function submit(event) {
    if (!window.fetch || !window.URLSearchParams) {
      return;
    }
    event.preventDefault();
    var button = event.submitter;
    var data = new FormData(form);
    if (button && button.name) {
      data.append(button.name, button.value);
    }
    var body = new URLSearchParams();
    data.forEach(function (value, name) {
      body.append(name, value);
    });
    say('正在提交……');
    fetch(form.getAttribute('action') || window.location.href, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: body
    })
      .then(function (response) {
        // The console redirects to the new draft once it is saved, to the sign-in page when
        // the session is gone, and answers a refusal with this page again (no redirect).
        var landed = new URL(response.url, window.location.href);
        var elsewhere = landed.pathname !== window.location.pathname;
        if (response.redirected && elsewhere && landed.pathname !== SIGNIN_PATH) {
          forget();
          window.location.assign(response.url);
          return null;
        }
        if (response.status === 401 || landed.pathname === SIGNIN_PATH) {
          sessionExpired();
          return null;
        }
        return response.text().then(function (html) {
          say('提交未成功（HTTP ' + response.status + '）：' + reason(html), 'error');
        });
      })
      .catch(function () {
        say('无法连接服务器，草稿未提交；修改已保存在本浏览器中。', 'error');
      });
  }

  // The message of a page the server answered a refused submission with.
  function reason(html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var node = doc.querySelector('[role="alert"], .error, .cr-error, main p, main') || doc.body;
    var text = node ? node.textContent.replace(/\s+/g, ' ').trim() : '';
    return text.slice(0, 500) || '服务器未说明原因';
  }

  // ---------------------------------------------------------------- start

  function loadKeywords() {
    return fetch('/assets/console/keywords.json', { credentials: 'same-origin' })
      .then(function (response) {
        return response.ok ? response.json() : { keywords: [], units: [] };
      })
      .then(function (table) {
        (table.keywords || []).forEach(function (k) {
          k.spellings.forEach(function (s) {
            keywordSet[s] = true;
          });
        });
        (table.units || []).forEach(function (k) {
          k.spellings.forEach(function (s) {
            unitSet[s] = true;
          });
        });
        render();
      })
      .catch(function () {
        // Highlighting without keywords still shows strings, numbers, dates and comments.
      });
  }

  textarea.addEventListener('input', function () {
    save();
    diagnosticsFresh = false;
    render();
    scheduleCheck();
  });
  textarea.addEventListener('scroll', syncScroll);
  testsButton.addEventListener('click', runTests);
  previewButton.addEventListener('click', runPreview);
  if (form) {
    form.addEventListener('submit', submit);
  }

  restore();
  render();
  loadKeywords();
  runCheck();
})();
