// The diner page's words in Chinese and English (i18n.js switches between them).
import { define } from "../i18n.js";

define({
  zh: {
    title: "点餐", loading: "加载中…", table: (n) => `${n} 桌`, call: "呼叫服务员", bill: "结账",
    myOrders: "我的订单", cart: "购物车", viewCart: "去下单", emptyCart: "购物车是空的",
    orderNote: "整单备注", lineNote: "备注（选填）", total: "合计", qty: "数量",
    place: "下单", sending: "正在提交…", retry: "重新提交", soldOut: "售罄", add: "加入购物车",
    required: "必选", optional: "可选", none: "不需要", choose: (n) => `请选择「${n}」`,
    remove: "删除", close: "关闭", other: "其他", noOrders: "还没有订单",
    closed: "本桌已关闭，请联系服务员",
    accepted: "已接单", done: "已出餐", cancelled: "已取消", voided: "已退",
    printed: "已送厨房", queued: "排队打印", orderNo: (n) => `${n} 号`,
    placed: (n) => `下单成功！订单 ${n} 号`, ready: (n) => `${n} 号订单已出餐`,
    called: "已呼叫服务员，请稍候", billCalled: "已通知结账，服务员马上就来",
    netErr: "网络不稳定，请重试",
    notConfirmed: "网络不稳定，订单还未确认。请点「重新提交」，不会重复下单。",
    loadFail: "菜单加载失败，正在重试…", soldOutInCart: "请先删除售罄的菜品",
    maxLines: (n) => `一次最多 ${n} 种菜品`, badOrder: "订单无效，请刷新页面再试",
    wait: "订单正在提交，请稍候", added: "已加入购物车", failed: "出错了，请重试",
  },
  en: {
    title: "Order", loading: "Loading…", table: (n) => `${n}`, call: "Call waiter", bill: "Request bill",
    myOrders: "My orders", cart: "Cart", viewCart: "View cart", emptyCart: "Your cart is empty",
    orderNote: "Note for the order", lineNote: "Note (optional)", total: "Total", qty: "Quantity",
    place: "Place order", sending: "Sending…", retry: "Send again", soldOut: "Sold out",
    add: "Add to cart", required: "Required", optional: "Optional", none: "None",
    choose: (n) => `Please choose: ${n}`, remove: "Remove", close: "Close", other: "Other",
    noOrders: "No orders yet", closed: "This table is closed, please ask staff",
    accepted: "Accepted", done: "Ready", cancelled: "Cancelled", voided: "Voided",
    printed: "Sent to kitchen", queued: "Waiting for printer", orderNo: (n) => `No. ${n}`,
    placed: (n) => `Order placed! No. ${n}`, ready: (n) => `Order No. ${n} is ready`,
    called: "A waiter is on the way", billCalled: "The bill is on its way",
    netErr: "Network problem, please try again",
    notConfirmed: "Network problem: the order is not confirmed yet. Tap “Send again”; it will not be ordered twice.",
    loadFail: "Could not load the menu, retrying…", soldOutInCart: "Please remove the sold-out dishes first",
    maxLines: (n) => `At most ${n} different dishes per order`,
    badOrder: "The order is not valid, please reload the page",
    wait: "Your order is being sent, please wait", added: "Added to cart", failed: "Something went wrong, please try again",
  },
});

// A code that is not valid: both languages, the page has nothing else to say.
export const INVALID = ["二维码无效或已过期，请联系服务员", "This QR code is not valid, please ask staff"];
