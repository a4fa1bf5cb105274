// The landing page: links to the console, the auditor view and the API reference.

import { installLangToggle } from "./i18n.js";
import { icon } from "./icons.js";

document.getElementById("logo").innerHTML = icon("logo");
document.getElementById("logo").firstElementChild.setAttribute("width", "28");
installLangToggle(document.getElementById("lang"));
