// The room switcher: `rooms` lists every catalogue room with its live instances; a room's
// button asks for the room (the server picks an instance with a free seat), an instance's
// button for exactly that instance (`room_full` when it has none).
import { fill, h } from "../shared/dom.js";

const REFRESH_MS = 5000;

export class RoomSwitcher {
  /** go(roomOrInstanceId) changes room; named(roomName) tells the page the current room's name. */
  constructor(element, socket, { go, named }) {
    this.element = element;
    this.socket = socket;
    this.go = go;
    this.named = named;
    this.current = null;
    this.supported = true;
    this.rooms = [];
    setInterval(() => this.refresh(), REFRESH_MS);
  }

  setCurrent(instanceId) {
    this.current = instanceId;
    this.refresh();
  }

  async refresh() {
    if (!this.socket.isOpen || !this.current || !this.supported) return;
    try {
      // Quiet: the protocol pane hides this timer's frames unless asked to show them.
      const reply = await this.socket.call({ type: "rooms" }, { quiet: true });
      this.rooms = reply.rooms;
    } catch (error) {
      if (error.code === "unknown_type") this.supported = false;
      else return;
    }
    this.render();
  }

  render() {
    if (!this.supported) {
      fill(this.element, h("p", { class: "note" }, "This server does not list its rooms yet (no `rooms` message)."));
      return;
    }
    const here = this.rooms.find((room) => room.instances.some((i) => i.id === this.current));
    if (here) this.named(here.name);
    const rows = this.rooms.map((room) => this.row(room));
    fill(this.element, h("ul", { class: "rooms", id: "room-list" }, rows));
  }

  row(room) {
    const here = room.instances.some((instance) => instance.id === this.current);
    const instances = room.instances.map((instance) =>
      h(
        "button",
        {
          class: "instance",
          dataset: { instance: instance.id },
          "aria-current": instance.id === this.current ? "true" : null,
          disabled: instance.id === this.current || instance.population >= instance.capacity,
          title: `Join ${instance.id} exactly`,
          onclick: () => this.go(instance.id),
        },
        `${instance.id} ${instance.population}/${instance.capacity}`,
      ),
    );
    return h(
      "li",
      { class: here ? "here" : "", dataset: { room: room.id } },
      h(
        "button",
        { class: "room", disabled: here, onclick: () => this.go(room.id), title: "Join, wherever there is a seat" },
        `${room.name}${room.game ? " (game)" : ""}`,
      ),
      h("span", { class: "population" }, `${room.population} here`),
      h("span", { class: "instances" }, instances),
    );
  }
}
