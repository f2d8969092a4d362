// Drives the built page (dist/web/index.html) in Debian's chromium through playwright-core: the playwright package
// would download browsers of its own, which cannot be fetched here (issue 10). Every request the page makes is kept
// so a test can show that none left it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { REPO } from '../helpers/env.js';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const PAGE_FILE = path.join(REPO, 'dist/web/index.html');
export const PAGE_URL = pathToFileURL(PAGE_FILE).href;

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: install Debian's chromium package (.ci/run does) or set CHROMIUM`);
  if (!existsSync(PAGE_FILE)) throw new Error(`${PAGE_FILE} missing: run npm run build:web`);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface OpenedPage {
  page: Page;
  /** Every URL the page requested, in order (the page itself first). */
  requests: string[];
  /** Uncaught errors and console errors: a test expects none. */
  errors: string[];
}

export async function openPage(browser: Browser): Promise<OpenedPage> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(PAGE_URL);
  await page.waitForSelector('html[data-ready="true"]');
  return { page, requests, errors };
}

export interface PageCheck {
  id: string;
  status: string;
  message: string;
  fix: string | null;
}

export interface PageResult {
  verdict: string;
  checks: PageCheck[];
  listing: string | null;
  listingError: { code: string; message: string } | null;
  bytesRead: number;
  reads: number;
  ms: number;
}

/** Chooses `files` with the page's file input and reads back what it shows. */
export async function checkFiles(page: Page, files: string[]): Promise<PageResult> {
  await page.evaluate(() => document.getElementById('result')?.replaceChildren());
  await page.setInputFiles('#file-input', files);
  await page.waitForSelector('[data-testid="verdict"]');
  return readResult(page);
}

export async function readResult(page: Page): Promise<PageResult> {
  return page.evaluate(() => {
    const q = (s: string) => document.querySelector(s);
    const checks = [...document.querySelectorAll('[data-testid="check"]')].map((el) => ({
      id: el.getAttribute('data-id') ?? '',
      status: el.getAttribute('data-status') ?? '',
      message: el.querySelector('.message')?.textContent ?? '',
      fix: el.querySelector('.fix')?.textContent ?? null,
    }));
    const err = q('[data-testid="bcd-listing-error"]');
    const stats = q('[data-testid="stats"]');
    return {
      verdict: q('[data-testid="verdict"]')?.textContent ?? '',
      checks,
      listing: q('[data-testid="bcd-listing"]')?.textContent ?? null,
      listingError: err
        ? { code: err.getAttribute('data-code') ?? '', message: err.textContent ?? '' }
        : null,
      bytesRead: Number(stats?.getAttribute('data-bytes-read')),
      reads: Number(stats?.getAttribute('data-reads')),
      ms: Number(stats?.getAttribute('data-ms')),
    };
  });
}

/** Requests other than for the page's own file. */
export const foreignRequests = (requests: readonly string[]): string[] =>
  requests.filter((u) => u !== PAGE_URL);
