#!/usr/bin/env python3
"""Drive the asanajira Jira emulator with python3-jira, a client nobody here wrote.

Usage: pyjira_check.py BASE_URL [oauth] [pat]

oauth: creates an application link and its incoming OAuth 1.0a consumer over
       REST as admin, runs the OAuth dance with a fresh RSA key (the authorize
       step is the HTML form: log in as alice and click Allow), then exercises
       the client as alice.
pat:   mints a personal access token for bob over REST and uses token_auth.

Both modes then check the permission model: bob may not browse OPS and does
not see DEMO-4, whose security level admits only admin and alice; a comment
restricted to jira-administrators is hidden from both.

Exits non-zero with a message on the first failure.
"""

import io
import sys
import urllib.parse
import warnings

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jira import JIRA, JIRAError
from oauthlib.oauth1 import SIGNATURE_RSA
from requests_oauthlib import OAuth1Session

ADMIN = ("admin", "admin")
JSON = {"Accept": "application/json"}


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)


def oauth_client(base):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode()

    r = requests.put(
        base + "/rest/applinks/3.0/applicationlink",
        json={"id": None, "name": "pyjira check", "rpcUrl": "http://127.0.0.1:9",
              "displayUrl": "http://127.0.0.1:9", "typeId": "generic"},
        auth=ADMIN, headers=JSON)
    check(r.status_code == 201, "create application link: %d %s" % (r.status_code, r.text))
    link_id = r.json()["resources-created"]["href"].rsplit("/", 1)[1]
    consumer_key = "pyjira-check"
    r = requests.put(
        base + "/rest/applinks-oauth/1.0/applicationlink/%s/authentication/consumer" % link_id,
        json={"key": consumer_key, "name": "pyjira check", "description": None, "sharedSecret": None,
              "publicKey": public_pem, "outgoing": False, "twoLOAllowed": False,
              "executingTwoLOUser": None, "twoLOImpersonationAllowed": None},
        auth=ADMIN, headers=JSON)
    check(r.status_code == 201, "create consumer: %d %s" % (r.status_code, r.text))

    oauth = OAuth1Session(consumer_key, signature_method=SIGNATURE_RSA, rsa_key=private_pem,
                          callback_uri="http://127.0.0.1:9/callback")
    request_token = oauth.fetch_request_token(base + "/plugins/servlet/oauth/request-token")

    # The authorize step as a browser does it: the page, then the form post.
    page = requests.get(base + "/plugins/servlet/oauth/authorize",
                        params={"oauth_token": request_token["oauth_token"]})
    check(page.status_code == 200 and "os_username" in page.text, "authorize page: %d" % page.status_code)
    r = requests.post(base + "/plugins/servlet/oauth/authorize", allow_redirects=False,
                      data={"oauth_token": request_token["oauth_token"], "os_username": "alice",
                            "os_password": "alice", "approve": "Allow"})
    check(r.status_code == 302, "authorize Allow: %d %s" % (r.status_code, r.text))
    query = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["Location"]).query)
    check(query.get("oauth_token") == [request_token["oauth_token"]], "callback token: %s" % query)

    oauth = OAuth1Session(consumer_key, signature_method=SIGNATURE_RSA, rsa_key=private_pem,
                          resource_owner_key=request_token["oauth_token"],
                          resource_owner_secret=request_token["oauth_token_secret"],
                          verifier=query["oauth_verifier"][0])
    access = oauth.fetch_access_token(base + "/plugins/servlet/oauth/access-token")
    client = JIRA(server=base, oauth={
        "access_token": access["oauth_token"],
        "access_token_secret": access["oauth_token_secret"],
        "consumer_key": consumer_key,
        "key_cert": private_pem,
    })
    return client, "alice"


def pat_client(base):
    r = requests.post(base + "/rest/pat/latest/tokens", json={"name": "pyjira check", "expirationDuration": 30},
                      auth=("bob", "bob"), headers=JSON)
    check(r.status_code == 201, "create PAT: %d %s" % (r.status_code, r.text))
    return JIRA(server=base, token_auth=r.json()["rawToken"]), "bob"


def exercise(client, username, mode):
    info = client.server_info()
    check(info["deploymentType"] == "Server" and info["versionNumbers"], "server_info: %s" % info)
    me = client.myself()
    check(me["name"] == username, "myself: %s" % me)
    keys = {p.key for p in client.projects()}
    check(keys == VISIBLE_PROJECTS[username], "projects: %s" % keys)

    issue = client.create_issue(project="DEMO", summary="Created by python3-jira (%s)" % mode,
                                description="From *pyjira_check.py*", issuetype="Task")
    check(issue.key.startswith("DEMO-"), "create_issue: %s" % issue.key)
    check(issue.fields.reporter.name == username, "reporter: %s" % issue.fields.reporter)

    att = client.add_attachment(issue=issue.key, attachment=io.BytesIO(b"hello from python"), filename="hello.txt")
    check(att.filename == "hello.txt" and att.size == 17, "add_attachment: %s %s" % (att.filename, att.size))

    comment = client.add_comment(issue.key, "A comment from python3-jira")
    check(comment.body == "A comment from python3-jira", "add_comment: %s" % comment.body)

    names = {t["name"] for t in client.transitions(issue)}
    check("Done" in names, "transitions: %s" % names)
    client.transition_issue(issue, "Done")
    done = client.issue(issue.key)
    check(done.fields.status.name == "Done" and done.fields.status.statusCategory.key == "done",
          "after transition: %s" % done.fields.status)

    global_id = "asana:task:%s" % mode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-admins may not list application links
        link = client.add_remote_link(issue.key, {"url": "https://app.asana.com/0/1/2", "title": "Asana task"},
                                      globalId=global_id, application={"type": "com.asana", "name": "Asana"},
                                      relationship="tracked in")
    check(link.id, "add_remote_link: %s" % link.raw)

    found = client.search_issues('issue in issuesWithRemoteLinksByGlobalId("%s")' % global_id)
    check([i.key for i in found] == [issue.key], "search by globalId: %s" % [i.key for i in found])
    recent = client.search_issues("project = DEMO AND updated >= -10m ORDER BY key DESC", maxResults=10)
    check(issue.key in [i.key for i in recent], "search recent: %s" % [i.key for i in recent])
    print("%s: %s ok (%s)" % (mode, issue.key, info["version"]))


VISIBLE_PROJECTS = {"alice": {"DEMO", "OPS"}, "bob": {"DEMO"}}
NO_PERMISSION = "You do not have the permission to see the specified issue."


def refused(call, status, text=""):
    """Run call; it must fail with a JIRAError of this status (and text)."""
    try:
        call()
    except JIRAError as e:
        body = (e.text or "") + (e.response.text if e.response is not None else "")
        return e.status_code == status and text in body
    return False


def permissions(base, client, username):
    # An administrator restricts a comment to the jira-administrators group.
    r = requests.post(base + "/rest/api/2/issue/DEMO-1/comment", auth=ADMIN, headers=JSON,
                      json={"body": "admins only (%s)" % username,
                            "visibility": {"type": "group", "value": "jira-administrators"}})
    check(r.status_code == 201 and r.json()["visibility"]["value"] == "jira-administrators",
          "restricted comment: %d %s" % (r.status_code, r.text))
    bodies = [c.body for c in client.comments("DEMO-1")]
    check(not any(b.startswith("admins only") for b in bodies), "restricted comment shown: %s" % bodies)
    check(refused(lambda: client.comment("DEMO-1", r.json()["id"]), 404), "restricted comment by id")

    found = [i.key for i in client.search_issues("project = DEMO ORDER BY key ASC")]
    if username == "alice":
        secured = client.issue("DEMO-4")
        check(secured.fields.security.name == "Confidential", "DEMO-4 security: %s" % secured.fields.security)
        check("DEMO-4" in found, "alice's search misses DEMO-4: %s" % found)
        check(client.issue("OPS-1").key == "OPS-1", "alice reads OPS-1")
        return
    for key in ("OPS-1", "DEMO-4"):
        check(refused(lambda: client.issue(key), 403, NO_PERMISSION), "bob reads " + key)
        check(refused(lambda: client.add_comment(key, "x"), 403, NO_PERMISSION), "bob comments on " + key)
        check(refused(lambda: client.transitions(key), 403, NO_PERMISSION), "bob lists transitions of " + key)
        check(refused(lambda: client.add_attachment(key, io.BytesIO(b"x"), "x.txt"), 403), "bob attaches to " + key)
        check(refused(lambda: client.remote_links(key), 403, NO_PERMISSION), "bob lists remote links of " + key)
    check(refused(lambda: client.issue("NOPE-1"), 404, "Issue Does Not Exist"), "missing issue")
    check("DEMO-4" not in found and "DEMO-1" in found, "bob's search: %s" % found)
    check(refused(lambda: client.search_issues("project = OPS"), 400, "does not exist for the field 'project'"),
          "bob searches OPS")
    check(refused(lambda: client.project("OPS"), 404, "No project could be found with key 'OPS'."), "bob reads project OPS")
    fields = {"project": {"key": "OPS"}, "summary": "x", "issuetype": {"name": "Task"}}
    check(refused(lambda: client.create_issue(fields=fields), 400, "valid project is required"), "bob creates in OPS")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    base = sys.argv[1].rstrip("/")
    for mode in sys.argv[2:] or ["oauth"]:
        if mode == "oauth":
            client, user = oauth_client(base)
        elif mode == "pat":
            client, user = pat_client(base)
        else:
            raise SystemExit("unknown mode %r" % mode)
        exercise(client, user, mode)
        permissions(base, client, user)
    print("OK")


if __name__ == "__main__":
    main()
