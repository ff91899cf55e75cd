// Drives the asanajira Asana emulator with the official Asana Node SDK.
// Usage: ASANA_BASE_URL=http://127.0.0.1:3000 node check.js
// Exits non-zero, with the reason on stderr, when the emulator answers
// something the SDK cannot use.
"use strict";

const assert = require("node:assert/strict");
const Asana = require("asana");

const base = process.env.ASANA_BASE_URL;
if (!base) {
  console.error("set ASANA_BASE_URL to the emulator's base URL");
  process.exit(2);
}

const client = Asana.ApiClient.instance;
client.basePath = base.replace(/\/+$/, "") + "/api/1.0";
client.authentications.token.accessToken = process.env.ASANA_TOKEN || "pat-alice";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let throttled = 0;

// withRetry honours 429 + Retry-After, as a well-behaved client must.
async function withRetry(fn) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err.status !== 429 || attempt >= 20) throw err;
      throttled++;
      const retryAfter = Number(err.response && err.response.headers["retry-after"]);
      assert.ok(retryAfter >= 1, `429 without a usable Retry-After: ${retryAfter}`);
      await sleep(retryAfter * 1000);
    }
  }
}

async function main() {
  const seed = await (await fetch(base + "/_emulator/seed")).json();
  const task = seed.tasks[0].gid;
  const users = new Asana.UsersApi();
  const tasks = new Asana.TasksApi();
  const attachments = new Asana.AttachmentsApi();
  const stories = new Asana.StoriesApi();

  const me = await withRetry(() => users.getUser("me", {}));
  assert.equal(me.data.gid, seed.users.alice);
  assert.equal(me.data.name, "Alice Anders");
  console.log("get me: ok");

  const t = await withRetry(() => tasks.getTask(task, { opt_fields: "name,notes,html_notes,permalink_url,custom_fields.name,custom_fields.display_value" }));
  assert.equal(t.data.name, "Write the launch announcement");
  assert.match(t.data.notes, /announcement/);
  assert.ok(t.data.permalink_url.endsWith("/task/" + task));
  assert.equal(t.data.custom_fields[0].display_value, "High");
  assert.equal(t.data.assignee, undefined, "opt_fields must limit the fields");
  console.log("get task with opt_fields: ok");

  const atts = await withRetry(() => attachments.getAttachmentsForObject(task, { opt_fields: "name,host,resource_subtype,download_url,view_url,size" }));
  const hosts = atts.data.map((a) => a.host).sort();
  assert.deepEqual(hosts, ["asana", "asana", "dropbox", "gdrive"]);
  const pdf = atts.data.find((a) => a.name === "launch-plan.pdf");
  const file = await fetch(pdf.download_url);
  assert.equal(file.status, 200);
  assert.match(await file.text(), /^%PDF-/);
  console.log("list attachments: ok");

  const story = await withRetry(() => stories.createStoryForTask({ data: { text: "Posted with the official SDK" } }, task, {}));
  assert.equal(story.data.text, "Posted with the official SDK");
  assert.equal(story.data.resource_subtype, "comment_added");
  console.log("create story: ok");

  const updated = await withRetry(() => tasks.updateTask({ data: { custom_fields: { [seed.priority_field]: seed.priority_options.Low } } }, task,
    { opt_fields: "custom_fields.display_value,custom_fields.enum_value.name" }));
  assert.equal(updated.data.custom_fields[0].display_value, "Low");
  console.log("set custom field: ok");

  const names = [];
  let page = await withRetry(() => tasks.getTasksForProject(seed.project, { limit: 1, opt_fields: "name" }));
  while (page && page.data) {
    names.push(...page.data.map((x) => x.name));
    const current = page;
    page = await withRetry(() => current.nextPage());
  }
  assert.deepEqual(names, seed.tasks.map((x) => x.name));
  console.log("page through a list: ok");

  // Burst past the rate limit; every request must still succeed after
  // honouring Retry-After.
  const burst = await Promise.all(Array.from({ length: 40 }, () => withRetry(() => users.getUser("me", { opt_fields: "name" }))));
  assert.equal(burst.length, 40);
  assert.ok(throttled > 0, "the burst was never throttled (is --rate-limit on?)");
  console.log(`handle 429: ok (${throttled} throttled answers)`);
}

main().then(
  () => console.log("SDK check passed"),
  (err) => {
    console.error("SDK check failed:", err && (err.stack || err));
    if (err && err.response) console.error("response:", err.status, err.response.text);
    process.exit(1);
  },
);
