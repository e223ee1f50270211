// /verificar and /confirmar-recepcion: reads the chosen photo (a file or the
// phone camera) into the hidden `foto` field as a data URL, so the form posts it
// without a multipart parser. Without JavaScript, pasting the code still works.
"use strict";
(function () {
  const input = document.getElementById("foto-archivo");
  const hidden = document.getElementById("foto");
  const form = document.getElementById("formulario-credencial");
  if (!input || !hidden || !form) return;
  let pending = null;
  input.addEventListener("change", function () {
    hidden.value = "";
    const file = input.files && input.files[0];
    if (!file) return;
    pending = new Promise(function (resolve) {
      const reader = new FileReader();
      reader.onload = function () {
        hidden.value = typeof reader.result === "string" ? reader.result : "";
        resolve();
      };
      reader.onerror = function () {
        resolve();
      };
      reader.readAsDataURL(file);
    });
  });
  form.addEventListener("submit", function (event) {
    if (!pending) return;
    event.preventDefault();
    const waiting = pending;
    pending = null;
    waiting.then(function () {
      form.submit();
    });
  });
})();
