// Live chat over WebSocket, for the visitor's widget, the portal and the agents' chat desk.
// Messages carry a sequence number: after a reconnect the client asks for what came after the last one it
// has, and resends its own unacknowledged messages with the same client id (the server keeps them once).
(function () {
  "use strict";

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function remember() {
    var mark = document.querySelector("[data-remember-chat]");
    if (mark) { try { localStorage.setItem("kefu-chat", mark.dataset.rememberChat); } catch (e) { /* storage off */ } }
    if (document.querySelector("[data-resume-chat]")) {
      var url = null;
      try { url = localStorage.getItem("kefu-chat"); } catch (e) { /* storage off */ }
      if (url) location.replace(url);
    }
  }

  function Chat(root) {
    this.root = root;
    this.side = root.dataset.side;
    this.log = root.querySelector(".chat-log");
    this.status = root.querySelector(".chat-status");
    this.typing = root.querySelector(".chat-typing");
    this.form = root.querySelector(".chat-compose");
    this.lastSeq = 0;
    this.pending = new Map();
    this.delay = 500;
    this.ended = false;
    this.lastTypingSent = 0;
    this.bind();
    this.connect();
  }

  Chat.prototype.label = function (name) { return this.root.dataset["label" + name] || ""; };

  Chat.prototype.connect = function () {
    var self = this;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + this.root.dataset.socket + "?after=" + this.lastSeq);
    this.ws = ws;
    ws.onopen = function () {
      self.delay = 500;
      self.root.dataset.connected = "1";
      self.pending.forEach(function (item) { ws.send(JSON.stringify(item)); });
    };
    ws.onmessage = function (event) { self.receive(JSON.parse(event.data)); };
    ws.onclose = function (event) {
      self.root.dataset.connected = "";
      if (self.ended || event.code === 4404) return;
      self.status.textContent = self.label("Reconnecting");
      setTimeout(function () { self.connect(); }, self.delay);
      self.delay = Math.min(self.delay * 2, 10000);
    };
  };

  Chat.prototype.send = function (item) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(item));
  };

  Chat.prototype.receive = function (data) {
    if (data.type === "message") return this.show(data);
    if (data.type === "typing") {
      var typing = this.typing;
      typing.textContent = this.label("Typing");
      typing.hidden = false;
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(function () { typing.hidden = true; }, 3000);
      return;
    }
    if (data.type === "read") return this.markRead(data.seq);
    if (data.type === "state") return this.showState(data);
    if (data.type === "error") { this.status.textContent = data.message; }
  };

  Chat.prototype.show = function (m) {
    if (m.client_id) this.pending.delete(m.client_id);
    if (this.log.querySelector('[data-seq="' + m.seq + '"]')) return;
    var item = document.createElement("li");
    item.className = "chat-msg from-" + m.author + (m.author === this.side ? " mine" : "");
    item.dataset.seq = m.seq;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = m.author === this.side ? this.label("You") : m.name;
    var when = document.createElement("time");
    when.textContent = new Date(m.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    var body = document.createElement("p");
    body.className = "body";
    body.textContent = m.body;
    item.append(who, " ", when, body);
    if (m.file) {
      var link = document.createElement("a");
      link.href = m.file;
      link.textContent = m.filename;
      item.append(link);
    }
    var after = Array.prototype.find.call(this.log.children, function (li) { return Number(li.dataset.seq) > m.seq; });
    this.log.insertBefore(item, after || null);
    this.lastSeq = Math.max(this.lastSeq, m.seq);
    item.scrollIntoView({ block: "end" });
    if (m.author !== this.side && m.author !== "system") this.send({ type: "read", seq: m.seq });
  };

  Chat.prototype.markRead = function (seq) {
    var label = this.label("Read");
    this.log.querySelectorAll(".mine").forEach(function (li) {
      if (Number(li.dataset.seq) <= seq && !li.querySelector(".read")) {
        var mark = document.createElement("span");
        mark.className = "read muted";
        mark.textContent = " " + label;
        li.querySelector(".who").after(mark);
      }
    });
  };

  Chat.prototype.showState = function (s) {
    this.root.dataset.state = s.state;
    if (s.state === "bot") this.status.textContent = this.label("Bot");
    else if (s.state === "queued") this.status.textContent = this.label("Waiting");
    else if (s.state === "active") this.status.textContent = this.label("With") + " " + s.agent;
    else {
      this.ended = true;
      this.status.textContent = s.ticket ? this.label("Ticket") + s.ticket : this.label("Ended");
      this.form.querySelectorAll("textarea, button, input").forEach(function (el) { el.disabled = true; });
    }
    if (this.side === "customer" && s.agent_read_seq) this.markRead(s.agent_read_seq);
    if (this.side === "agent" && s.customer_read_seq) this.markRead(s.customer_read_seq);
  };

  Chat.prototype.bind = function () {
    var self = this;
    var text = this.form.querySelector("textarea");
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = text.value.trim();
      if (!body) return;
      var item = { type: "message", body: body, client_id: newId() };
      self.pending.set(item.client_id, item);
      self.send(item);
      text.value = "";
    });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); self.form.requestSubmit(); }
    });
    text.addEventListener("input", function () {
      var now = Date.now();
      if (now - self.lastTypingSent > 2000) { self.lastTypingSent = now; self.send({ type: "typing" }); }
    });
    var file = this.form.querySelector("input[type=file]");
    file.addEventListener("change", function () {
      var chosen = file.files[0];
      if (!chosen) return;
      var reader = new FileReader();
      reader.onload = function () {
        var item = { type: "file", name: chosen.name, content_type: chosen.type, client_id: newId(),
                     data: String(reader.result).split(",")[1] || "" };
        self.pending.set(item.client_id, item);
        self.send(item);
        file.value = "";
      };
      reader.readAsDataURL(chosen);
    });
    this.form.querySelectorAll("[data-chat-action]").forEach(function (button) {
      button.addEventListener("click", function () { self.send({ type: button.dataset.chatAction }); });
    });
  };

  function start() {
    remember();
    document.querySelectorAll("[data-chat]").forEach(function (root) { root.chat = new Chat(root); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
