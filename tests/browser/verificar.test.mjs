// /verificar in a real browser: the demo's signed QR credential (a PNG file, as a
// phone camera would give) is chosen in the file input, read by the page's script
// into the form, decoded and verified by the server, and the answer is plain
// Spanish: «La credencial es válida». A tampered pasted code is refused with the
// sentence for a bad signature. Then /confirmar-recepcion with the wrong CURP is
// refused and with the right one confirmed.
//
// Run by tests/browser/run.sh (CERTEZA_DEMO_JSON, CERTEZA_ARTIFACTS).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const demo = JSON.parse(readFileSync(process.env.CERTEZA_DEMO_JSON, "utf8"));
const artifacts = process.env.CERTEZA_ARTIFACTS || "target/browser-artifacts";
mkdirSync(artifacts, { recursive: true });
const base = demo.base_url;
const holder = demo.sample_people.find((person) => person.status === "vigente");

let browser;

before(async () => {
  assert.ok(demo.credential?.png, "demo.json names the demo credential's PNG");
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
});

test("a photo of the demo credential is verified as valid, in Spanish", async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 900 } });
  const consoleErrors = [];
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  await page.goto(`${base}/verificar`);
  assert.equal(await page.getAttribute("html", "lang"), "es-MX");
  const file = page.getByLabel("Foto del código QR");
  assert.equal(await file.getAttribute("capture"), "environment");
  await file.setInputFiles(demo.credential.png);
  await page.getByRole("button", { name: "Verificar" }).click();
  const result = page.locator("#resultado");
  await result.waitFor();
  assert.equal(await result.getAttribute("data-resultado"), "valida");
  assert.match(await result.textContent(), /La credencial es válida/);
  assert.match(await result.textContent(), /Credencial para votar/);
  assert.match(await result.textContent(), new RegExp(holder.curp));
  assert.deepEqual(consoleErrors, []);
  await page.screenshot({ path: join(artifacts, "verificar-valida.png"), fullPage: true });
  await page.close();
});

test("a tampered code is refused with the plain reason", async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/verificar`);
  // Changing the last Base45 character breaks the zlib checksum or the signature.
  const code = demo.credential.code;
  const last = code.at(-1) === "0" ? "1" : "0";
  await page.getByLabel("O pegue el texto del código").fill(code.slice(0, -1) + last);
  await page.getByRole("button", { name: "Verificar" }).click();
  const result = page.locator("#resultado");
  await result.waitFor();
  assert.notEqual(await result.getAttribute("data-resultado"), "valida");
  assert.match(await result.textContent(), /La credencial no es válida/);
  await page.screenshot({ path: join(artifacts, "verificar-alterada.png"), fullPage: true });
  await page.close();
});

test("the holder confirms receipt only with the matching CURP", async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/confirmar-recepcion`);
  const other = demo.sample_people.find((person) => person.curp !== holder.curp);
  await page.getByLabel("O pegue el texto del código").fill(demo.credential.code);
  await page.getByLabel("CURP").fill(other.curp);
  await page.getByRole("button", { name: "Confirmar recepción" }).click();
  await page.locator("#resultado").waitFor();
  assert.match(await page.locator("#resultado").textContent(), /no corresponde a esa CURP/);

  await page.getByLabel("Foto del código QR").setInputFiles(demo.credential.png);
  await page.getByLabel("CURP").fill(holder.curp);
  await page.getByRole("button", { name: "Confirmar recepción" }).click();
  await page.locator("#resultado").waitFor();
  assert.match(await page.locator("#resultado").textContent(), /confirmamos que recibió su credencial|ya estaba confirmada/);
  await page.screenshot({ path: join(artifacts, "confirmar-recepcion.png"), fullPage: true });
  await page.close();
});
