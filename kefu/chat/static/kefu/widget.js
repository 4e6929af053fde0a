// The embeddable chat widget: <script src="https://support.example.com/static/kefu/widget.js" defer></script>
// adds a "chat" button to the page that opens the chat in a frame served by the kefu server.
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  var label = script.dataset.label || "Chat 在线客服";
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("data-kefu-chat-button", "");
  button.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:10px 16px;" +
    "border:0;border-radius:20px;background:#1f6feb;color:#fff;font:14px sans-serif;cursor:pointer";
  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = origin + "/chat/widget/";
      frame.title = label;
      frame.setAttribute("data-kefu-chat-frame", "");
      frame.style.cssText = "position:fixed;right:20px;bottom:70px;width:360px;height:520px;max-height:80vh;" +
        "border:1px solid #ccd;border-radius:8px;background:#fff;z-index:2147483000";
      document.body.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
  });
  document.body.appendChild(button);
})();
