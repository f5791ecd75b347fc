// The kiosk's words in Chinese and English, and the small helpers that pick one.
export const TEXT = {
  zh: {
    startOver: "重新开始", cart: "购物车", total: "合计", place: "下单", cancel: "取消",
    add: "加入购物车", required: "必选", optional: "可选", none: "不要", soldOut: "售罄",
    removeSoldOut: "已售罄，请移除", chooseFirst: "请先选择", other: "English",
    sending: "正在下单…", waitingHub: "正在等待门店主机…", yourNo: "您的取餐号",
    slipTake: "请取走小票", slipFailed: "小票未能打印，请记住您的号码", watch: "请留意叫号屏",
    late: "订单已在延迟后送达", done: "完成", back: "返回修改", ok: "好的",
    notPlaced: "未能下单", rejected: "订单未被接受", member: "会员码", forget: "移除",
    away: "请到前台点餐", empty: "购物车是空的", catAll: "全部",
    memberEarns: "会员 {phone}：付款后累计积分",
    howMany: "几位用餐？", yourLineNo: "您的排队号", taking: "正在取号…", notTaken: "未能取号",
    ahead: "前面 {n} 桌", est: "预计等待 {lo}–{hi} 分钟", lineSlip: "请取走排队小票，扫码查看进度",
  },
  en: {
    startOver: "Start over", cart: "Cart", total: "Total", place: "Place order", cancel: "Cancel",
    add: "Add to cart", required: "required", optional: "optional", none: "None", soldOut: "Sold out",
    removeSoldOut: "Sold out, please remove", chooseFirst: "Please choose", other: "中文",
    sending: "Placing your order…", waitingHub: "Waiting for the store hub…", yourNo: "Your number",
    slipTake: "Please take your slip", slipFailed: "The slip could not be printed: remember your number",
    watch: "Watch the screen for your number", late: "Your order arrived after a delay",
    done: "Done", back: "Back to my order", ok: "OK", notPlaced: "Order not placed",
    rejected: "Order not accepted", member: "Member code", forget: "Remove",
    away: "Please order at the counter", empty: "Your cart is empty", catAll: "All",
    memberEarns: "Member {phone}: points are added when you pay",
    howMany: "How many people?", yourLineNo: "Your number", taking: "Taking a number…",
    notTaken: "No number taken", ahead: "{n} ahead of you", est: "About {lo}–{hi} minutes",
    lineSlip: "Please take your slip: scan it to follow your number",
  },
};

export const money = (fen) => `¥${(fen / 100).toFixed(2)}`;

export function makeT(getLang) {
  const t = (key) => TEXT[getLang()][key];
  const nm = (x) => (getLang() === "zh" ? x.name_zh : x.name_en);
  const alt = (x) => (getLang() === "zh" ? x.name_en : x.name_zh);
  return { t, nm, alt };
}
