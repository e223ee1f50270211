// Certeza in a real browser: a relying party verifies a sample citizen's
// credential through the API, the citizen signs in (CURP + CIC + the one-time
// code read from the demo outbox) and sees that verification on /mis-accesos,
// marked «verificado en el registro público» only after the page's own
// WebCrypto check of the inclusion proof and the signed checkpoint.
//
// Run by tests/browser/run.sh, which starts `certeza demo` and sets
// CERTEZA_DEMO_JSON (the demo's description) and CERTEZA_ARTIFACTS (where
// screenshots go).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const demo = JSON.parse(readFileSync(process.env.CERTEZA_DEMO_JSON, "utf8"));
const artifacts = process.env.CERTEZA_ARTIFACTS || "target/browser-artifacts";
mkdirSync(artifacts, { recursive: true });
const base = demo.base_url;
const citizen = demo.sample_people.find((person) => person.status === "vigente");
const VERIFIED = "verificado en el registro público";

let browser;
let verificationId;

async function verify(fields, requestId) {
  const response = await fetch(`${base}/v1/verifications`, {
    method: "POST",
    headers: { authorization: `Bearer ${demo.relying_party.api_key}`, "content-type": "application/json" },
    body: JSON.stringify({
      request_id: requestId,
      purpose: demo.relying_party.purpose,
      consent: { reference: "prueba-navegador", obtained_at: "2026-01-01T12:00:00Z", method: "en-sucursal" },
      fields,
    }),
  });
  assert.equal(response.status, 200, `POST /v1/verifications: ${await response.clone().text()}`);
  return response.json();
}

async function waitForProof(id) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await fetch(`${base}/v1/verifications/${id}/proof`, {
      headers: { authorization: `Bearer ${demo.relying_party.api_key}` },
    });
    if (response.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the log never integrated verification ${id}`);
}

async function signIn(page) {
  await page.goto(`${base}/mis-accesos`);
  assert.equal(new URL(page.url()).pathname, "/entrar", "an anonymous visitor is sent to sign in");
  await page.getByLabel("CURP").fill(citizen.curp);
  await page.getByLabel("CIC de la credencial para votar").fill(citizen.cic);
  await page.getByRole("button", { name: "Enviar código" }).click();
  await page.waitForURL(`${base}/entrar/codigo`);
  const outbox = await page.context().newPage();
  await outbox.goto(`${base}/demo/buzon`);
  const newest = await outbox.locator("li.mensaje .cuerpo").first().textContent();
  await outbox.close();
  const code = /\b(\d{6})\b/.exec(newest ?? "")?.[1];
  assert.ok(code, "the demo outbox shows the one-time code");
  await page.getByLabel("Código de 6 dígitos").fill(code);
  await page.getByRole("button", { name: "Entrar" }).click();
  await page.waitForURL(`${base}/mis-accesos`);
}

before(async () => {
  const answer = await verify({ curp: citizen.curp, cic: citizen.cic, ocr: citizen.ocr }, `navegador-${Date.now()}`);
  assert.equal(answer.outcome, "valid");
  verificationId = answer.verification_id;
  await waitForProof(verificationId);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
      // No --user-data-dir here: playwright-core refuses it in launch() and
      // always starts Chromium with a fresh temporary profile of its own.
    ],
  });
});

after(async () => {
  await browser?.close();
});

test("the landing page is Spanish, keyboard-navigable and leads to every capability", async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(`${base}/`);
  assert.equal(await page.getAttribute("html", "lang"), "es-MX");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("href")), "#contenido");
  for (const href of ["/mis-accesos", "/openapi.json", "/log/checkpoint"]) {
    assert.ok(await page.locator(`main a[href="${href}"]`).count(), `the landing page links to ${href}`);
  }
  assert.ok(await page.locator("#instituciones").count(), "the landing page presents the relying-party API");
  await page.screenshot({ path: join(artifacts, "inicio-movil.png"), fullPage: true });
  await page.close();
});

test("a wrong CIC gets the generic message", async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/entrar`);
  await page.getByLabel("CURP").fill(citizen.curp);
  const wrong = citizen.cic.slice(0, 8) + String((Number(citizen.cic[8]) + 1) % 10);
  await page.getByLabel("CIC de la credencial para votar").fill(wrong);
  await page.getByRole("button", { name: "Enviar código" }).click();
  const alert = page.getByRole("alert");
  assert.match(await alert.textContent(), /No pudimos confirmar sus datos/);
  await page.screenshot({ path: join(artifacts, "entrar-error.png"), fullPage: true });
  await page.close();
});

test("the citizen signs in and sees the verification checked against the public log", async () => {
  const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  await signIn(page);
  const row = page.locator(`li.acceso[data-id="${verificationId}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(demo.relying_party.name));
  const status = row.locator('.estado[data-estado="verificado"]');
  await status.waitFor({ timeout: 15_000 });
  assert.match(await status.textContent(), new RegExp(VERIFIED));
  const failed = await page.locator('.estado[data-estado="fallo"]').count();
  assert.equal(failed, 0, "no row failed its check");
  assert.deepEqual(consoleErrors, []);
  await page.screenshot({ path: join(artifacts, "mis-accesos.png"), fullPage: true });

  // The JSON needs the session; signing out ends it.
  const withSession = await page.evaluate(async () => (await fetch("/mis-accesos.json")).status);
  assert.equal(withSession, 200);
  await page.getByRole("button", { name: "Cerrar sesión" }).click();
  await page.waitForURL(`${base}/`);
  const afterSignOut = await page.evaluate(async () => (await fetch("/mis-accesos.json")).status);
  assert.equal(afterSignOut, 401);
  await context.close();
});

test("a tampered proof is shown as a failure, not as verified", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signIn(page);
  // Serve the page's JSON with the salt changed: the entry is then not "about
  // me", and the browser must say so.
  await page.route("**/mis-accesos.json", async (route) => {
    const response = await route.fetch();
    const data = await response.json();
    for (const entry of data.entries) {
      entry.subject_salt = entry.subject_salt.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    }
    await route.fulfill({ response, json: data });
  });
  await page.reload();
  const status = page.locator(`li.acceso[data-id="${verificationId}"] .estado[data-estado="fallo"]`);
  await status.waitFor({ timeout: 15_000 });
  assert.match(await status.textContent(), /La comprobación falló: la anotación no se refiere a usted/);
  assert.equal(await page.locator('.estado[data-estado="verificado"]').count(), 0);
  await page.screenshot({ path: join(artifacts, "mis-accesos-alterado.png"), fullPage: true });
  await context.close();
});
