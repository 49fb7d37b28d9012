// Chinese first (the default), English on demand. Every translated node carries data-i18n
// (and data-i18n-args), so switching language rewrites text in place without losing edits.

export type Lang = "zh-CN" | "en";
type Dict = Record<string, string>;

const zh: Dict = {
  "app.title": "Perks 营销控制台",
  "skip": "跳到主要内容",
  "nav.campaigns": "活动",
  "nav.signout": "退出登录",
  "lang.toggle": "English",
  "signin.title": "登录",
  "signin.dev": "开发登录（仅本地环境）",
  "signin.role": "角色",
  "signin.sub": "用户名",
  "signin.submit": "登录",
  "signin.token": "或粘贴访问令牌",
  "signin.useToken": "使用令牌",
  "signin.memberRefused": "会员令牌不能登录控制台：控制台仅供营销人员和管理员使用。",
  "signin.noRole": "该令牌没有营销人员或管理员角色，无法使用控制台。",
  "signin.badToken": "令牌无效或已过期。",
  "signin.devUnavailable": "此环境未开放开发登录，请粘贴令牌。",
  "signin.expired": "登录已过期，请重新登录。",
  // Production sign-in (Cognito hosted UI with PKCE)
  "signin.cognitoTitle": "企业账号登录",
  "signin.cognitoHint": "在 Perks 登录页输入您的账号，完成后自动返回控制台。",
  "signin.cognito": "前往登录页",
  "signin.denied": "登录已取消或被拒绝。",
  "signin.state": "登录回调无法验证（可能来自其他页面），请重新登录。",
  "signin.exchange": "无法完成登录，请重试。",
  "role.marketer": "营销人员",
  "role.admin": "管理员",
  "campaigns.title": "活动",
  "campaigns.new": "新建活动",
  "campaigns.status": "状态",
  "campaigns.search": "搜索",
  "campaigns.searchHint": "按名称或 ID 搜索",
  "campaigns.all": "全部",
  "campaigns.name": "名称",
  "campaigns.id": "ID",
  "campaigns.trigger": "触发方式",
  "campaigns.version": "版本",
  "campaigns.updated": "更新时间",
  "campaigns.count": "共 {n} 个活动",
  "campaigns.empty": "没有符合条件的活动。",
  "campaigns.loading": "加载中…",
  "campaigns.countLoading": "已加载 {n} 个活动，继续加载中…",
  "campaigns.more": "显示更多（还有 {n} 个）",
  "status.draft": "草稿",
  "status.active": "进行中",
  "status.paused": "已暂停",
  "status.ended": "已结束",
  "trigger.once": "单次",
  "trigger.recurring": "周期",
  "trigger.birthday": "生日",
  "trigger.holiday": "节日",
  "trigger.event": "事件",
  "editor.new": "新建活动",
  "editor.back": "返回活动列表",
  "editor.label": "活动 JSON",
  "editor.loading": "正在加载编辑器…",
  "editor.validate": "校验",
  "editor.save": "保存",
  "editor.preview": "预览",
  "editor.publish": "发布",
  "editor.pause": "暂停",
  "editor.end": "结束",
  "editor.version": "版本 {v}",
  "editor.valid": "校验通过，没有错误。",
  "editor.problems": "问题",
  "editor.errorCount": "{n} 个错误",
  "editor.warningCount": "{n} 个警告",
  "editor.at": "第 {line} 行，第 {col} 列",
  "editor.hint": "提示：{hint}",
  "editor.saved": "已保存为版本 {v}。",
  "editor.unchanged": "内容没有变化，未创建新版本。",
  "editor.statusChanged": "活动状态已变为「{s}」。",
  "editor.notJson": "JSON 格式有误，请先修正。",
  "dialog.cancel": "取消",
  "dialog.confirm": "确认",
  "dialog.save": "保存为新版本？",
  "dialog.publish": "发布此活动？",
  "dialog.pause": "暂停此活动？",
  "dialog.end": "结束此活动？结束后不能再次发布。",
  "dialog.diff": "与已保存版本的差异",
  "dialog.noDiff": "与已保存版本相同。",
  "dialog.newDoc": "这是一个新活动，尚无已保存版本。",
  "preview.title": "预览",
  "preview.audience": "受众人数",
  "preview.exact": "精确计数（读取 {n} 份会员档案）",
  "preview.estimate": "估算值（读取 {n} 份会员档案）",
  "preview.samples": "样本会员（已脱敏）",
  "preview.member": "会员",
  "preview.tier": "等级",
  "preview.timezone": "时区",
  "preview.next": "下次触达",
  "preview.message": "消息",
  "preview.none": "没有样本会员。",
  "preview.warnings": "提示",
  "preview.hint": "点击“预览”查看受众人数和样本会员。",
  "error.forbidden": "您的角色无权执行此操作。",
  "error.generic": "请求失败：{message}",
  "error.network": "无法连接服务器。",
};

const en: Dict = {
  "app.title": "Perks marketing console",
  "skip": "Skip to main content",
  "nav.campaigns": "Campaigns",
  "nav.signout": "Sign out",
  "lang.toggle": "中文",
  "signin.title": "Sign in",
  "signin.dev": "Dev sign-in (local stage only)",
  "signin.role": "Role",
  "signin.sub": "User name",
  "signin.submit": "Sign in",
  "signin.token": "Or paste an access token",
  "signin.useToken": "Use token",
  "signin.memberRefused": "Member tokens cannot sign in: the console is for marketers and admins only.",
  "signin.noRole": "This token has neither the marketer nor the admin role.",
  "signin.badToken": "The token is invalid or has expired.",
  "signin.devUnavailable": "Dev sign-in is not available here; paste a token.",
  "signin.expired": "Your session has expired; sign in again.",
  // Production sign-in (Cognito hosted UI with PKCE)
  "signin.cognitoTitle": "Company account",
  "signin.cognitoHint": "Sign in on the Perks sign-in page; you come back here when done.",
  "signin.cognito": "Go to sign-in page",
  "signin.denied": "Sign-in was cancelled or refused.",
  "signin.state": "The sign-in response could not be verified (it may come from another page); sign in again.",
  "signin.exchange": "Could not complete sign-in; try again.",
  "role.marketer": "Marketer",
  "role.admin": "Admin",
  "campaigns.title": "Campaigns",
  "campaigns.new": "New campaign",
  "campaigns.status": "Status",
  "campaigns.search": "Search",
  "campaigns.searchHint": "Search by name or id",
  "campaigns.all": "All",
  "campaigns.name": "Name",
  "campaigns.id": "ID",
  "campaigns.trigger": "Trigger",
  "campaigns.version": "Version",
  "campaigns.updated": "Updated",
  "campaigns.count": "{n} campaigns",
  "campaigns.empty": "No campaigns match.",
  "campaigns.loading": "Loading…",
  "campaigns.countLoading": "{n} campaigns loaded, loading more…",
  "campaigns.more": "Show more ({n} more)",
  "status.draft": "Draft",
  "status.active": "Active",
  "status.paused": "Paused",
  "status.ended": "Ended",
  "trigger.once": "Once",
  "trigger.recurring": "Recurring",
  "trigger.birthday": "Birthday",
  "trigger.holiday": "Holiday",
  "trigger.event": "Event",
  "editor.new": "New campaign",
  "editor.back": "Back to campaigns",
  "editor.label": "Campaign JSON",
  "editor.loading": "Loading the editor…",
  "editor.validate": "Validate",
  "editor.save": "Save",
  "editor.preview": "Preview",
  "editor.publish": "Publish",
  "editor.pause": "Pause",
  "editor.end": "End",
  "editor.version": "Version {v}",
  "editor.valid": "Valid: no errors.",
  "editor.problems": "Problems",
  "editor.errorCount": "{n} errors",
  "editor.warningCount": "{n} warnings",
  "editor.at": "line {line}, column {col}",
  "editor.hint": "Hint: {hint}",
  "editor.saved": "Saved as version {v}.",
  "editor.unchanged": "Nothing changed; no new version.",
  "editor.statusChanged": "The campaign is now {s}.",
  "editor.notJson": "The JSON is malformed; fix it first.",
  "dialog.cancel": "Cancel",
  "dialog.confirm": "Confirm",
  "dialog.save": "Save as a new version?",
  "dialog.publish": "Publish this campaign?",
  "dialog.pause": "Pause this campaign?",
  "dialog.end": "End this campaign? It cannot be published again.",
  "dialog.diff": "Changes against the stored version",
  "dialog.noDiff": "Same as the stored version.",
  "dialog.newDoc": "A new campaign: nothing stored yet.",
  "preview.title": "Preview",
  "preview.audience": "Audience",
  "preview.exact": "exact count ({n} member profiles read)",
  "preview.estimate": "estimate ({n} member profiles read)",
  "preview.samples": "Sample members (masked)",
  "preview.member": "Member",
  "preview.tier": "Tier",
  "preview.timezone": "Timezone",
  "preview.next": "Next send",
  "preview.message": "Message",
  "preview.none": "No sample members.",
  "preview.warnings": "Warnings",
  "preview.hint": "Press Preview for the audience size and sample members.",
  "error.forbidden": "Your role is not allowed to do this.",
  "error.generic": "Request failed: {message}",
  "error.network": "Cannot reach the server.",
};

const DICTS: Record<Lang, Dict> = { "zh-CN": zh, en };
const KEY = "perks.console.lang";

export let lang: Lang = (localStorage.getItem(KEY) as Lang) === "en" ? "en" : "zh-CN";

export function t(key: string, args: Record<string, string | number> = {}): string {
  const raw = DICTS[lang][key] ?? zh[key] ?? key;
  return raw.replace(/\{(\w+)\}/g, (_, k: string) => String(args[k] ?? ""));
}

/** Mark a node as translated: its text (or an attribute) follows the language. */
export function bind<T extends HTMLElement>(node: T, key: string,
  args: Record<string, string | number> = {}, attr?: string): T {
  node.dataset[attr ? `i18nAttr` : "i18n"] = key;
  if (attr) node.dataset.i18nAttrName = attr;
  if (Object.keys(args).length) node.dataset.i18nArgs = JSON.stringify(args);
  if (attr) node.setAttribute(attr, t(key, args));
  else node.textContent = t(key, args);
  return node;
}

export function applyLang(root: ParentNode = document): void {
  document.documentElement.lang = lang;
  document.title = t("app.title");
  root.querySelectorAll<HTMLElement>("[data-i18n]").forEach((n) => {
    n.textContent = t(n.dataset.i18n!, JSON.parse(n.dataset.i18nArgs ?? "{}"));
  });
  root.querySelectorAll<HTMLElement>("[data-i18n-attr]").forEach((n) => {
    n.setAttribute(n.dataset.i18nAttrName!, t(n.dataset.i18nAttr!,
      JSON.parse(n.dataset.i18nArgs ?? "{}")));
  });
}

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(KEY, next);
  applyLang();
}
